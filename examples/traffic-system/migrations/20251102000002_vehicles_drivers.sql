-- Vehicles (owner data as SUNARP returns it) and drivers.

CREATE TABLE vehicles_vehicle (
    id uuid PRIMARY KEY,
    -- Peruvian plates: "ABC-123". Indexed by the UNIQUE constraint.
    license_plate varchar(15) NOT NULL UNIQUE,
    make varchar(50) NOT NULL DEFAULT '',
    model varchar(50) NOT NULL DEFAULT '',
    year smallint CHECK (year BETWEEN 1950 AND 2100),
    color varchar(30) NOT NULL DEFAULT '',
    vehicle_type varchar(20) NOT NULL DEFAULT 'car'
        CHECK (vehicle_type IN ('car', 'motorcycle', 'truck', 'bus', 'van', 'other')),
    owner_name varchar(200) NOT NULL DEFAULT '',
    owner_dni varchar(20) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vehicles_driver (
    id uuid PRIMARY KEY,
    document_number varchar(20) NOT NULL UNIQUE,
    first_name varchar(100) NOT NULL,
    last_name varchar(100) NOT NULL,
    license_number varchar(20) NOT NULL UNIQUE,
    license_category varchar(10) NOT NULL DEFAULT '',
    license_expires_on date,
    phone varchar(30) NOT NULL DEFAULT '',
    email varchar(254) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
