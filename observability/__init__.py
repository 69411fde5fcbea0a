"""What the service tells about itself, for every app: the health probes (`/healthz`, `/readyz`,
health.py), the Prometheus metrics (`/metrics`, metrics.py), the log context and JSON format
(logs.py), the optional error reports (sentry.py), and who the client is (client_ip.py: the
address every log line, per-IP limit and lockout uses). The bottom layer: it imports no package
of the project, and the apps plug their own checks and collectors in from `AppConfig.ready()`."""
