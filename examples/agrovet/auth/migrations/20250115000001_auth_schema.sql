-- auth_db: the Auth service's users (login by phone number) and password
-- reset codes sent by SMS. Keys are UUIDs; the other services refer to a user
-- by this id, never by a foreign key (database per service).

CREATE TABLE auth_user (
    id uuid PRIMARY KEY,
    phone_number varchar(20) NOT NULL UNIQUE,
    -- A bcrypt hash, never the password.
    password varchar(128) NOT NULL,
    role varchar(20) NOT NULL CHECK (role IN ('specialist', 'businessman', 'consumer', 'admin')),
    full_name varchar(150) NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    date_joined timestamptz NOT NULL DEFAULT now(),
    last_login timestamptz
);

CREATE TABLE phone_reset_code (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
    code char(6) NOT NULL CHECK (code ~ '^[0-9]{6}$'),
    expires_at timestamptz NOT NULL,
    used boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX phone_reset_code_user_id_idx ON phone_reset_code (user_id);
