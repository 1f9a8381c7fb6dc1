"""Background work: the inbox worker, the event relay and the projection consumers."""
