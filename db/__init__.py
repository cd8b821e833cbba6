"""The database: schema and migrations, the store (identity, sightings, runs), search, export, Datasette."""
