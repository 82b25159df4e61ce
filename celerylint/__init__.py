"""celerylint: a static analyzer for Celery deployments."""

__version__ = "0.1.0"

#: Where the project lives; every rule's page is ``docs/rules/<name>.md`` there (generated from
#: the rule's docstring by ``scripts/rule_docs.py``), linked from SARIF ``helpUri`` and ``explain``.
HOMEPAGE = "https://github.com/celerylint/celerylint"
RULE_DOCS = f"{HOMEPAGE}/blob/main/docs/rules"
