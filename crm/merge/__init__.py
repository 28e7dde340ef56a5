"""Merging two duplicate records (issue 15): :mod:`.services` holds the rules, :mod:`.views` the page."""
