"""NATS JetStream: the relay from the event store and the projections' fast feed."""
