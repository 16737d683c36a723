"""Views are thin: access helper, form, one service call, template."""
