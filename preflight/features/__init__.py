"""Measurements several analyzers share (speech activity, face boxes), each computed once per
source and memoised on its :class:`~preflight.media.Media`."""
