"""Read queries. Each takes the acting user and applies ``db.permissions`` itself; none loops per patient."""
