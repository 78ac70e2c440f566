-- Facts about this appliance that must survive restarts: its id, its name, secrets.
CREATE TABLE server_state (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
