-- Oracle XE init script 3/3: a few changes after capture started (the triggers of script 2 record
-- them), so the first `docker compose up` shows inserts, updates, a key change and a delete.
WHENEVER SQLERROR EXIT SQL.SQLCODE
ALTER SESSION SET CONTAINER = XEPDB1;
INSERT INTO "DEMO"."CUSTOMERS" VALUES (3, 'Alan Turing', 'alan@example.com', 'GB', 7.25, NULL,
  SYS_EXTRACT_UTC(SYSTIMESTAMP), SYS_EXTRACT_UTC(SYSTIMESTAMP));
UPDATE "DEMO"."ORDERS" SET "STATUS" = 'PAID', "NOTE" = 'paid by card' WHERE "ID" = 100;
UPDATE "DEMO"."ORDER_LINES" SET "LINE_NO" = 3 WHERE "ORDER_ID" = 100 AND "LINE_NO" = 2;
DELETE FROM "DEMO"."PRODUCTS" WHERE "SKU" = 'SKU-2';
COMMIT;
