"""Templates are read and compiled once per process, not once per request (issue 22: the cached loader).

Django wraps its loaders in ``cached.Loader`` unless ``OPTIONS["loaders"]`` is given; a settings change
that lists loaders without it would recompile every template of every page on every request.
"""

from django.template import engines


def test_the_template_loaders_are_cached():
    loaders = engines["django"].engine.template_loaders
    assert [type(loader).__module__ for loader in loaders] == ["django.template.loaders.cached"]


def test_an_include_is_compiled_once():
    engine = engines["django"].engine
    first = engine.get_template("includes/header.html")
    assert engine.get_template("includes/header.html") is first
