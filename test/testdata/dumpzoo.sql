-- A database with every common column type, defaults, NULLs, AUTO_INCREMENT, indexes, a foreign
-- key, a view, a trigger, a procedure and a function: what TestDumpRoundTrip carries from
-- MariaDB to RelayDB and back with mariadb-dump.
CREATE TABLE parent (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(40) NOT NULL,
  UNIQUE KEY uk_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE kinds (
  id BIGINT NOT NULL AUTO_INCREMENT,
  parent_id INT UNSIGNED NULL,
  ti TINYINT NOT NULL DEFAULT -5,
  tiu TINYINT UNSIGNED DEFAULT 200,
  si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT NOT NULL DEFAULT 0, iu INT UNSIGNED,
  bi BIGINT, biu BIGINT UNSIGNED,
  dec1 DECIMAL(12,3) DEFAULT '1.500', dec2 DECIMAL(30,10),
  f FLOAT, d DOUBLE DEFAULT 2.5,
  c CHAR(4) DEFAULT 'ab', vc VARCHAR(100) NOT NULL DEFAULT '', tx TEXT, bl BLOB,
  bn BINARY(4), vb VARBINARY(16),
  dt DATE DEFAULT '2000-01-01', tm TIME, dt6 DATETIME(6),
  ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  yr YEAR,
  e ENUM('small','medium','large') NOT NULL DEFAULT 'medium',
  st SET('red','green','blue') DEFAULT 'red,blue',
  j JSON,
  b8 BIT(8) DEFAULT b'101',
  PRIMARY KEY (id),
  KEY k_vc (vc),
  KEY k_multi (i, dt),
  CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE audit (
  n INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind_id BIGINT NOT NULL,
  note VARCHAR(64)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

INSERT INTO parent (name) VALUES ('alpha'), ('beta'), ('it''s "quoted"');

INSERT INTO kinds (parent_id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, dec1, dec2, f, d, c, vc, tx, bl,
  bn, vb, dt, tm, dt6, ts, yr, e, st, j, b8) VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615, -12.345, 12345678901234567890.0123456789,
  1.5, -1e300, 'wxyz', 'tab\there, newline\n, backslash \\ ✓', REPEAT('long text ', 50), 0x00FF275C0A,
  0x01020304, 0xDEADBEEF, '1999-12-31', '-838:59:59', '2026-11-22 10:11:12.131415', '2026-01-02 03:04:05', 2155,
  'large', 'green,blue', '{"k": [1, "two", null], "n": 1.5}', b'11111111'),
 (2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', 0x00000000, '', '1000-01-01', '00:00:00',
  '1000-01-01 00:00:00.000000', '1970-01-02 00:00:00', 1901, 'small', '', '[]', b'0'),
 (NULL, DEFAULT, DEFAULT, NULL, NULL, NULL, NULL, DEFAULT, NULL, NULL, NULL, DEFAULT, NULL, NULL, DEFAULT,
  DEFAULT, DEFAULT, NULL, NULL, NULL, NULL, DEFAULT, NULL, NULL, '2026-06-06 06:06:06', NULL, DEFAULT, DEFAULT,
  NULL, DEFAULT);

CREATE VIEW big_kinds AS SELECT k.id, k.e, p.name FROM kinds k LEFT JOIN parent p ON p.id = k.parent_id WHERE k.e <> 'small';

DELIMITER ;;
CREATE TRIGGER kinds_ai AFTER INSERT ON kinds FOR EACH ROW
BEGIN
  INSERT INTO audit (kind_id, note) VALUES (NEW.id, CONCAT('inserted ', NEW.e));
END;;

CREATE PROCEDURE add_parent(IN p_name VARCHAR(40), OUT p_id INT)
BEGIN
  INSERT INTO parent (name) VALUES (p_name);
  SET p_id = LAST_INSERT_ID();
END;;

CREATE FUNCTION kind_label(p_id BIGINT) RETURNS VARCHAR(80) CHARSET utf8mb4
    READS SQL DATA
    DETERMINISTIC
RETURN (SELECT CONCAT(k.e, '/', COALESCE(p.name, '-')) FROM kinds k LEFT JOIN parent p ON p.id = k.parent_id WHERE k.id = p_id);;

CREATE FUNCTION twice(x INT) RETURNS INT
    NO SQL
    DETERMINISTIC
BEGIN
  DECLARE y INT DEFAULT 0;
  SET y = x * 2;
  RETURN y;
END;;
DELIMITER ;

-- Rows written through the trigger and the procedure.
INSERT INTO kinds (parent_id, vc, e, ts) VALUES (2, 'after the trigger', 'small', '2026-03-04 05:06:07');
CALL add_parent('delta', @pid);
