"""Named staff: the authorised users an organisation registers, on whose behalf it calls."""
