"""Segment promotions: a segment, a message and a schedule that make one mailing per
occurrence (docs/architecture.md, "A mailing's path")."""
