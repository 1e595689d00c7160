// Column values of decoded changes: pgoutput sends each value in its type's text format (the CDC
// session sets TimeZone=UTC, DateStyle=ISO and bytea_output=hex). Conversion by type OID:
//   bool → boolean; int2/int4/oid/float4/float8 → number (NaN/±Infinity stay strings);
//   int8 → number when it is a safe integer, else the decimal string; numeric/money → string;
//   json/jsonb → parsed; timestamptz → ISO string in UTC ("2024-05-01T12:00:00.123456Z");
//   timestamp → ISO string without zone; bytea → base64; everything else (text, varchar, uuid,
//   date, time, interval, arrays, enums, ...) → the text as Postgres prints it.

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  timestamp: 1114,
  timestamptz: 1184,
  jsonb: 3802,
} as const;

export function decodeTextValue(typeOid: number, text: string): unknown {
  switch (typeOid) {
    case OID.bool:
      return text === 't';
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return Number(text);
    case OID.int8: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case OID.float4:
    case OID.float8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case OID.json:
    case OID.jsonb:
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    case OID.bytea:
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : text;
    case OID.timestamptz: {
      const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)\+00(?::00)?$/.exec(text);
      return m ? `${m[1]}T${m[2]}Z` : text; // infinity, BC dates: as printed
    }
    case OID.timestamp: {
      const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)$/.exec(text);
      return m ? `${m[1]}T${m[2]}` : text;
    }
    default:
      return text;
  }
}
