"""POL9xx rules: about poollint's own suppression comments."""
