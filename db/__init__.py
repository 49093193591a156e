"""Data layer: engine and sessions, typed models, read queries, write commands, migrations.

Pages and components call `db.queries` to read and `db.commands` to write; every one of those
functions takes the acting user and checks `db.permissions` first.
"""
