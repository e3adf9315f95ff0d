"""Import existing Grafana dashboards: migrate old schemas, infer the contract, write a module file."""
