-- Users, monitoring zones and cameras of the traffic system (PostgreSQL 16;
-- also runs on 15). Table names are Django's (<app>_<model>), as the
-- reference names them. Keys are UUIDs: the seed derives stable ids from
-- each row's natural key.

CREATE TABLE authentication_user (
    id uuid PRIMARY KEY,
    username varchar(150) NOT NULL UNIQUE,
    email varchar(254) NOT NULL UNIQUE,
    -- A bcrypt hash, never the password.
    password varchar(128) NOT NULL,
    first_name varchar(150) NOT NULL DEFAULT '',
    last_name varchar(150) NOT NULL DEFAULT '',
    role varchar(20) NOT NULL DEFAULT 'operator'
        CHECK (role IN ('admin', 'supervisor', 'operator', 'viewer')),
    is_active boolean NOT NULL DEFAULT true,
    is_staff boolean NOT NULL DEFAULT false,
    is_superuser boolean NOT NULL DEFAULT false,
    date_joined timestamptz NOT NULL DEFAULT now(),
    last_login timestamptz
);

CREATE TABLE devices_zone (
    id uuid PRIMARY KEY,
    code varchar(20) NOT NULL UNIQUE,
    name varchar(100) NOT NULL,
    description text NOT NULL DEFAULT '',
    -- km/h
    speed_limit integer NOT NULL CHECK (speed_limit > 0),
    -- A GeoJSON Polygon (longitude, latitude).
    boundary jsonb,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices_device (
    id uuid PRIMARY KEY,
    code varchar(20) NOT NULL UNIQUE,
    name varchar(100) NOT NULL,
    ip_address inet,
    rtsp_url varchar(500) NOT NULL DEFAULT '',
    status varchar(20) NOT NULL DEFAULT 'inactive'
        CHECK (status IN ('active', 'inactive', 'maintenance', 'error')),
    zone_id uuid NOT NULL REFERENCES devices_zone (id) ON DELETE RESTRICT,
    latitude numeric(9, 6),
    longitude numeric(9, 6),
    last_seen_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- devices_device.code is indexed by its UNIQUE constraint.
CREATE INDEX devices_device_status_idx ON devices_device (status);
CREATE INDEX devices_device_zone_id_idx ON devices_device (zone_id);
