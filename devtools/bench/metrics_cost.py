"""What request metrics cost: django-prometheus' two middlewares against ours (docs/benchmarks.md "Metrics").

    .venv/bin/python -m devtools.bench.metrics_cost   (with DEBUG=1 or the production secrets set; set
    PROMETHEUS_MULTIPROC_DIR to an empty folder to measure the multiprocess mode production uses)

CPU time (process_time) of each middleware alone, called around a stub view that returns a ready response,
minus the stub's own: the minimum of several batches, so that other load on the machine does not count.
"""
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linqadmin.settings")
import django  # noqa: E402

django.setup()
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402
from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware  # noqa: E402

from linqadmin.middleware import RequestMetricsMiddleware  # noqa: E402

response = HttpResponse(b"x" * 2000)
request = RequestFactory().get("/healthz")
request.resolver_match = resolve("/healthz")


def stub(r):
    return response


ours = RequestMetricsMiddleware(stub)
after = PrometheusAfterMiddleware(stub)
before = PrometheusBeforeMiddleware(after)
def dp(r):  # what Django's handler calls: both MiddlewareMixin chains plus process_view
    after.process_view(r, stub, (), {})
    return before(r)


def none(r):
    return stub(r)


def bench(fn, n=20000):
    best = 1e9
    for _ in range(7):
        t0 = time.process_time()
        for _ in range(n):
            fn(request)
        best = min(best, (time.process_time() - t0) / n)
    return best * 1e6


base = bench(none)
print(f"django-prometheus Before+After (+process_view): {bench(dp) - base:.1f} us per request")
print(f"RequestMetricsMiddleware: {bench(ours) - base:.1f} us per request")
print(f"multiprocess dir: {os.environ.get('PROMETHEUS_MULTIPROC_DIR')}")
