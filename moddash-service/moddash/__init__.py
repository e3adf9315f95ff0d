"""The service-facing part of module-dashboards: metric contracts and their instrumentation.

`moddash.contract` declares what a module exposes at /metrics; `moddash.instrumentation` turns a contract
into prometheus_client metrics and serves them. Both depend on attrs and prometheus-client only, so a
production service installs this distribution (moddash-service/) without any of the dashboard builder.
"""
