"""The languages the service speaks: which one a request, a page or an email speaks (i18n.py),
and the French catalogues' upkeep (translations.py, `manage.py messages`). See docs/i18n.md.
Below the plumbing: it imports no package of the project."""
