"""Deal stages an admin defines (name, order, probability, kind open / won / lost)."""
