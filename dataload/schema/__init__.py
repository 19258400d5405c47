"""Schema: tables, columns and their types; naming and type inference."""
