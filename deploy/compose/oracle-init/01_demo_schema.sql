-- Oracle XE init script 1/3 (gvenzl/oracle-xe runs /container-entrypoint-initdb.d/*.sql in
-- SQL*Plus as SYS on first start, in file-name order). The demo schema the quickstart uses, in
-- Oracle types: the same tables as `cdc-workload --schema demo` makes in SQLite. The image
-- creates the user DEMO (APP_USER) in XEPDB1 before these scripts run.
WHENEVER SQLERROR EXIT SQL.SQLCODE
ALTER SESSION SET CONTAINER = XEPDB1;
ALTER USER DEMO QUOTA UNLIMITED ON USERS;
-- The producer asks which transactions are open, so a sequence gap is given up only once the
-- transactions that could fill it have ended (producer/README.md, "Gap-safe polling").
GRANT SELECT ON SYS.GV_$TRANSACTION TO DEMO;
GRANT SELECT ON SYS.V_$DATABASE TO DEMO;

CREATE TABLE "DEMO"."CUSTOMERS" (
  "ID" NUMBER(10) NOT NULL PRIMARY KEY,
  "NAME" VARCHAR2(100 CHAR) NOT NULL,
  "EMAIL" VARCHAR2(200 CHAR),
  "COUNTRY" CHAR(2 CHAR),
  "BALANCE" NUMBER(12,2),
  "AVATAR" BLOB,
  "CREATED_AT" TIMESTAMP(6),
  "UPDATED_AT" TIMESTAMP(6)
);

CREATE TABLE "DEMO"."PRODUCTS" (
  "SKU" VARCHAR2(20 CHAR) NOT NULL PRIMARY KEY,
  "TITLE" VARCHAR2(200 CHAR) NOT NULL,
  "DESCRIPTION" CLOB,
  "PRICE" NUMBER(10,2),
  "STOCK" NUMBER(10),
  "UPDATED_AT" TIMESTAMP(6)
);

CREATE TABLE "DEMO"."ORDERS" (
  "ID" NUMBER(10) NOT NULL PRIMARY KEY,
  "CUSTOMER_ID" NUMBER(10),
  "STATUS" VARCHAR2(20 CHAR) NOT NULL,
  "TOTAL" NUMBER(12,2),
  "NOTE" CLOB,
  "ORDERED_AT" TIMESTAMP(6)
);

CREATE TABLE "DEMO"."ORDER_LINES" (
  "ORDER_ID" NUMBER(10) NOT NULL,
  "LINE_NO" NUMBER(10) NOT NULL,
  "SKU" VARCHAR2(20 CHAR),
  "QTY" NUMBER(10),
  "PRICE" NUMBER(10,2),
  PRIMARY KEY ("ORDER_ID", "LINE_NO")
);

-- Rows that exist before capture starts: the producer's initial snapshot publishes them.
INSERT INTO "DEMO"."CUSTOMERS" VALUES (1, 'Ada Lovelace', 'ada@example.com', 'GB', 120.50,
  HEXTORAW('CAFE'), TIMESTAMP '2026-11-01 09:00:00', TIMESTAMP '2026-11-01 09:00:00');
INSERT INTO "DEMO"."CUSTOMERS" VALUES (2, 'Grace Hopper', NULL, 'US', 0, NULL,
  TIMESTAMP '2026-11-02 10:30:00', TIMESTAMP '2026-11-02 10:30:00');
INSERT INTO "DEMO"."PRODUCTS" VALUES ('SKU-1', 'Widget', 'A widget', 9.99, 100,
  TIMESTAMP '2026-11-01 00:00:00');
INSERT INTO "DEMO"."PRODUCTS" VALUES ('SKU-2', 'Gadget', NULL, 24.00, 5,
  TIMESTAMP '2026-11-01 00:00:00');
INSERT INTO "DEMO"."ORDERS" VALUES (100, 1, 'NEW', 44.01, NULL, TIMESTAMP '2026-11-03 12:00:00');
INSERT INTO "DEMO"."ORDER_LINES" VALUES (100, 1, 'SKU-1', 2, 9.99);
INSERT INTO "DEMO"."ORDER_LINES" VALUES (100, 2, 'SKU-2', 1, 24.00);
COMMIT;
