"""Aggregate, anonymised counts for gemeente and SWV policy makers: exchanges per purpose,
signals per type, per month and per SWV region, and counts on the reference dates 1 October
and 1 February. No child identifier leaves this package; small counts are suppressed."""
