"""Operating linqadmin: the /metrics endpoint (Prometheus) and the database gauges it reads at scrape time."""
