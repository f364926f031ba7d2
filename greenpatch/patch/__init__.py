"""patch: parse the diffs models write, apply exactly or refuse, normalise, turn into edits. Pure functions over text."""
