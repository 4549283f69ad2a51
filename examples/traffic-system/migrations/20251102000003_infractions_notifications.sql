-- Detected infractions and the users' notifications.

CREATE TABLE infractions_infraction (
    id uuid PRIMARY KEY,
    infraction_code varchar(30) NOT NULL UNIQUE,
    infraction_type varchar(20) NOT NULL
        CHECK (infraction_type IN ('speed', 'red_light', 'wrong_way', 'lane_invasion', 'parking', 'other')),
    severity varchar(10) NOT NULL DEFAULT 'medium'
        CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    device_id uuid NOT NULL REFERENCES devices_device (id) ON DELETE RESTRICT,
    zone_id uuid NOT NULL REFERENCES devices_zone (id) ON DELETE RESTRICT,
    -- Unknown until the plate is matched to a registered vehicle or driver.
    vehicle_id uuid REFERENCES vehicles_vehicle (id) ON DELETE SET NULL,
    driver_id uuid REFERENCES vehicles_driver (id) ON DELETE SET NULL,
    license_plate_detected varchar(15) NOT NULL DEFAULT '',
    plate_confidence numeric(4, 3) CHECK (plate_confidence BETWEEN 0 AND 1),
    -- km/h; only for speed infractions.
    detected_speed numeric(6, 2),
    speed_limit integer,
    snapshot_url varchar(500) NOT NULL DEFAULT '',
    video_url varchar(500) NOT NULL DEFAULT '',
    status varchar(20) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'validated', 'rejected', 'notified', 'paid')),
    detected_at timestamptz NOT NULL,
    reviewed_by_id uuid REFERENCES authentication_user (id) ON DELETE SET NULL,
    reviewed_at timestamptz,
    notes text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (infraction_type <> 'speed' OR detected_speed IS NOT NULL)
);

CREATE INDEX infractions_infraction_detected_at_idx ON infractions_infraction (detected_at DESC);
CREATE INDEX infractions_infraction_plate_idx ON infractions_infraction (license_plate_detected);
CREATE INDEX infractions_infraction_status_idx ON infractions_infraction (status);
CREATE INDEX infractions_infraction_device_id_idx ON infractions_infraction (device_id);
-- Similar plates (OCR misreads); pg_trgm is created by postgres/init.
CREATE INDEX infractions_infraction_plate_trgm_idx
    ON infractions_infraction USING gin (license_plate_detected gin_trgm_ops);

CREATE TABLE notifications_notification (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES authentication_user (id) ON DELETE CASCADE,
    title varchar(200) NOT NULL,
    message text NOT NULL,
    notification_type varchar(20) NOT NULL DEFAULT 'system'
        CHECK (notification_type IN ('infraction', 'device', 'system')),
    is_read boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notifications_notification_user_unread_idx
    ON notifications_notification (user_id) WHERE NOT is_read;
