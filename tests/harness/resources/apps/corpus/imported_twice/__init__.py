"""A folder of examples that is itself a package, as Flask-Admin's ``examples/sqla``."""
