"""The database: schema and migrations, the store (items, sightings, stories, runs, pages), the story index, search,
read-only look-ups, export, Datasette."""
