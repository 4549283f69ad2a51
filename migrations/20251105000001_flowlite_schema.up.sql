-- The Flowlite schema: identity (User, Role, UserInfo), transactions (Bank,
-- TransactionCategory, TransactionBatch, Transaction) and insights
-- (InsightCategory, Insights). Table and column names are the ones the
-- services already use; keys are UUIDs as CHAR(36).
--
-- Portable across MySQL 8.4/8.0 and MariaDB 10.11: utf8mb4_unicode_ci (MySQL's
-- utf8mb4_0900_ai_ci does not exist on MariaDB), CHECK constraints (enforced by
-- both), no vendor-only syntax. `User` and `Transaction` are reserved words:
-- always backquote them.

CREATE TABLE Role (
    id_role CHAR(36) NOT NULL,
    role_name VARCHAR(50) NOT NULL,
    PRIMARY KEY (id_role),
    UNIQUE KEY uq_role_name (role_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE `User` (
    id_user CHAR(36) NOT NULL,
    username VARCHAR(100) NOT NULL,
    email VARCHAR(255) NOT NULL,
    -- A bcrypt hash ($2b$…), never the password.
    password VARCHAR(255) NOT NULL,
    role CHAR(36) NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id_user),
    UNIQUE KEY uq_user_email (email),
    UNIQUE KEY uq_user_username (username),
    KEY ix_user_role (role),
    CONSTRAINT fk_user_role FOREIGN KEY (role) REFERENCES Role (id_role)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE UserInfo (
    id_user CHAR(36) NOT NULL,
    primerNombre VARCHAR(100) NOT NULL,
    primerApellido VARCHAR(100) NOT NULL,
    telefono VARCHAR(30) NULL,
    direccion VARCHAR(255) NULL,
    numeroIdentificacion VARCHAR(30) NULL,
    PRIMARY KEY (id_user),
    UNIQUE KEY uq_userinfo_identificacion (numeroIdentificacion),
    CONSTRAINT fk_userinfo_user FOREIGN KEY (id_user) REFERENCES `User` (id_user) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE Bank (
    id_bank CHAR(36) NOT NULL,
    bank_name VARCHAR(100) NOT NULL,
    PRIMARY KEY (id_bank),
    UNIQUE KEY uq_bank_name (bank_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Descriptions are the ML classifier's labels (Alimentacion_Restaurantes,
-- Servicios_Publicos, …): underscores, no accents, exactly as the model emits them.
CREATE TABLE TransactionCategory (
    id_category CHAR(36) NOT NULL,
    description VARCHAR(100) NOT NULL,
    PRIMARY KEY (id_category),
    UNIQUE KEY uq_transactioncategory_description (description)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE TransactionBatch (
    id_batch CHAR(36) NOT NULL,
    process_status VARCHAR(20) NOT NULL DEFAULT 'pending',
    start_date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    end_date DATETIME NULL,
    batch_size INT NOT NULL DEFAULT 0,
    PRIMARY KEY (id_batch),
    KEY ix_transactionbatch_status (process_status),
    CONSTRAINT ck_transactionbatch_status CHECK (process_status IN ('pending', 'processing', 'completed', 'error')),
    CONSTRAINT ck_transactionbatch_size CHECK (batch_size >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE `Transaction` (
    id_transaction CHAR(36) NOT NULL,
    id_user CHAR(36) NOT NULL,
    -- NULL until the classifier has categorised the transaction.
    id_category CHAR(36) NULL,
    id_bank CHAR(36) NULL,
    id_batch CHAR(36) NULL,
    transaction_name VARCHAR(255) NOT NULL,
    value DECIMAL(15, 2) NOT NULL,
    transaction_date DATE NOT NULL,
    transaction_type VARCHAR(10) NOT NULL,
    PRIMARY KEY (id_transaction),
    KEY ix_transaction_user_date (id_user, transaction_date),
    KEY ix_transaction_category (id_category),
    KEY ix_transaction_bank (id_bank),
    KEY ix_transaction_batch (id_batch),
    CONSTRAINT fk_transaction_user FOREIGN KEY (id_user) REFERENCES `User` (id_user) ON DELETE CASCADE,
    CONSTRAINT fk_transaction_category FOREIGN KEY (id_category) REFERENCES TransactionCategory (id_category)
        ON DELETE SET NULL,
    CONSTRAINT fk_transaction_bank FOREIGN KEY (id_bank) REFERENCES Bank (id_bank) ON DELETE SET NULL,
    CONSTRAINT fk_transaction_batch FOREIGN KEY (id_batch) REFERENCES TransactionBatch (id_batch) ON DELETE SET NULL,
    CONSTRAINT ck_transaction_type CHECK (transaction_type IN ('income', 'expense'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE InsightCategory (
    id_category CHAR(36) NOT NULL,
    description VARCHAR(100) NOT NULL,
    PRIMARY KEY (id_category),
    UNIQUE KEY uq_insightcategory_description (description)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE Insights (
    id_insight CHAR(36) NOT NULL,
    id_user CHAR(36) NOT NULL,
    id_category CHAR(36) NULL,
    title VARCHAR(255) NOT NULL,
    text TEXT NOT NULL,
    -- 1 (informative) to 5 (act now).
    relevance TINYINT NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id_insight),
    KEY ix_insights_user_created (id_user, created_at),
    KEY ix_insights_category (id_category),
    CONSTRAINT fk_insights_user FOREIGN KEY (id_user) REFERENCES `User` (id_user) ON DELETE CASCADE,
    CONSTRAINT fk_insights_category FOREIGN KEY (id_category) REFERENCES InsightCategory (id_category)
        ON DELETE SET NULL,
    CONSTRAINT ck_insights_relevance CHECK (relevance BETWEEN 1 AND 5)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
