"""`python -m bench`: every benchmark, one after the other."""

from bench import api_latency, billing, metering, portal

if __name__ == "__main__":
    api_latency.main()
    metering.main()
    billing.main()
    portal.main()
