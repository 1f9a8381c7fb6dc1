-- Seed 003 compatibility: contacts and conversations, for GET /api/conversations and
-- GET /api/conversations/:id/messages. A contact is a counterpart address within a project;
-- a conversation holds its calls and messages (conversation_items). Written by
-- PostgresConversationsView with its position (stream_positions 'conversations_view').
-- total_calls, total_messages and the activity times are recomputed from conversation_items
-- in the transaction that changes them (seed 003: never trust increments alone).
-- Rollback: DROP TABLE conversation_items, conversations, contacts;
--           DELETE FROM stream_positions WHERE name = 'conversations_view';

-- No foreign keys: the projection keeps them consistent, and a rebuild's shadow copy
-- (adapters/postgres/rebuild.py) carries primary, unique and check constraints only.
CREATE TABLE IF NOT EXISTS contacts (
    project_id      uuid NOT NULL,
    contact_id      uuid NOT NULL,
    address         text NOT NULL,
    created_at      timestamptz NOT NULL,
    first_position  bigint NOT NULL,
    PRIMARY KEY (project_id, contact_id),
    UNIQUE (project_id, address)
);

CREATE TABLE IF NOT EXISTS conversations (
    project_id         uuid NOT NULL,
    conversation_id    uuid NOT NULL,
    contact_id         uuid NOT NULL,
    address            text NOT NULL,
    total_calls        integer NOT NULL DEFAULT 0,
    total_messages     integer NOT NULL DEFAULT 0,
    first_activity_at  timestamptz,
    last_activity_at   timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    last_position      bigint NOT NULL,
    PRIMARY KEY (project_id, conversation_id)
);
CREATE INDEX IF NOT EXISTS conversations_project_activity
    ON conversations (project_id, last_activity_at DESC, conversation_id DESC);

-- Every call and message; conversation_id is NULL when no counterpart was known.
CREATE TABLE IF NOT EXISTS conversation_items (
    project_id        uuid NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('call', 'message')),
    sid               text NOT NULL,
    conversation_id   uuid,
    address           text,
    channel           text,
    direction         text,
    from_address      text,
    to_address        text,
    parent_call_sid   text,
    campaign_id       text,
    status            text,
    is_final          boolean NOT NULL DEFAULT false,
    occurred_at       timestamptz NOT NULL,
    answered_at       timestamptz,
    ended_at          timestamptz,
    duration_seconds  integer,
    updated_at        timestamptz NOT NULL,
    version           integer NOT NULL,
    first_position    bigint NOT NULL,
    last_position     bigint NOT NULL,
    PRIMARY KEY (project_id, kind, sid)
);
CREATE INDEX IF NOT EXISTS conversation_items_timeline
    ON conversation_items (project_id, conversation_id, occurred_at DESC, kind DESC, sid DESC)
    WHERE conversation_id IS NOT NULL;
