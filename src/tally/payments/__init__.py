"""Payment collection: provider connections, payments as records, collection and dunning."""
