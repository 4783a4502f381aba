"""`python -m bench`: every benchmark, one after the other."""

from bench import alerts, api_latency, billing, exports, metering, portal, sustained, webhooks

if __name__ == "__main__":
    api_latency.main()
    metering.main()
    billing.main()
    portal.main()
    webhooks.main()
    alerts.main()
    exports.main()
    sustained.main([])  # last: it exits non-zero when its error rate is over 1%
