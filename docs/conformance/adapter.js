#!/usr/bin/env node
// A complete level-1 adapter for the OTRv4-over-XMPP conformance harness, in plain
// Node.js (no dependencies): KDF, Ed448 points, DH values, EdDSA, ring signatures,
// typed keys and TLVs.  Run it with:
//   otrv4-conformance --adapter "node docs/conformance/adapter.js"
// Protocol: one JSON request per line on stdin, one JSON reply per line on stdout.
'use strict';
const crypto = require('crypto');
const readline = require('readline');

// -- helpers ---------------------------------------------------------------------------
class Reject extends Error {}  // an input that breaks a rule; .message is the rule's name
const fail = (name) => { throw new Reject(name); };
const hex = (s) => Buffer.from(s, 'hex');
const shake256 = (data, size) =>
  crypto.createHash('shake256', { outputLength: size }).update(data).digest();
const leToInt = (buf) => BigInt('0x' + (Buffer.from(buf).reverse().toString('hex') || '0'));
const intToLe = (n, size) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) { b[i] = Number(n & 0xffn); n >>= 8n; }
  return b;
};
const mod = (a, m) => ((a % m) + m) % m;
const modpow = (b, e, m) => {
  let r = 1n; b = mod(b, m);
  for (; e > 0n; e >>= 1n) { if (e & 1n) r = (r * b) % m; b = (b * b) % m; }
  return r;
};

// -- KDF (otrv4.md: SHAKE-256(prefix || usage ID || values, size)) ---------------------------
const derive = (prefix, usage, values, size) =>
  shake256(Buffer.concat([Buffer.from(prefix), Buffer.from([usage]), values]), size);

// -- Ed448-Goldilocks ------------------------------------------------------------------------
const P = 2n ** 448n - 2n ** 224n - 1n;
const Q = 2n ** 446n - 13818066809895115352007386748515426880336692474882178609894547503885n;
const D = P - 39081n;
const ID = [0n, 1n, 1n];  // projective (X, Y, Z): x = X/Z, y = Y/Z
const G = [
  0x4f1970c66bed0ded221d15a622bf36da9e146570470f1767ea6de324a3d3a46412ae1af72ab66511433b80e18b00938e2626a82bc70cc05en,
  0x693f46716eb6bc248876203756c9c7624bea73736ca3984087789c1e05a0c2d73ad3ff1ce67c39c4fdbd132c4ed7c8ad9808795bf230fa14n,
  1n];
function add([x1, y1, z1], [x2, y2, z2]) {  // RFC 8032 §5.2.4, complete on Ed448
  const a = (z1 * z2) % P, b = (a * a) % P, c = (x1 * x2) % P, d = (y1 * y2) % P;
  const e = (D * c % P) * d % P, f = mod(b - e, P), g = (b + e) % P;
  const h = ((x1 + y1) * (x2 + y2)) % P;
  return [a * f % P * mod(h - c - d, P) % P, a * g % P * mod(d - c, P) % P, f * g % P];
}
function mul(pt, k) {
  let r = ID;
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    r = add(r, r);
    if ((k >> i) & 1n) r = add(r, pt);
  }
  return r;
}
const affine = ([x, y, z]) => { const zi = modpow(z, P - 2n, P); return [x * zi % P, y * zi % P]; };
const isIdentity = (pt) => { const [x, y] = affine(pt); return x === 0n && y === 1n; };
const encodePoint = (pt) => {
  const [x, y] = affine(pt);
  return intToLe(y | ((x & 1n) << 455n), 57);
};
function decodeRfc8032(buf) {  // RFC 8032 §5.2.3, in the reference's order of checks
  if (buf.length !== 57) fail('PointLengthError');
  const v = leToInt(buf), sign = (v >> 455n) & 1n, y = v & ((1n << 455n) - 1n);
  if (y >= P) fail('NonCanonicalPointError');
  if (sign && (y === 1n || y === P - 1n)) fail('NegativeZeroPointError');
  const u = mod(y * y - 1n, P), w = mod(D * y * y - 1n, P);
  let x = (u ** 3n % P) * w % P * modpow(u ** 5n % P * (w ** 3n % P), (P - 3n) / 4n, P) % P;
  if (mod(w * x * x, P) !== u) fail('PointNotOnCurveError');
  if ((x & 1n) !== sign) x = P - x;
  return [x, y, 1n];
}
function decodePoint(buf) {  // otrv4.md §Verifying that a point is on the curve
  const pt = decodeRfc8032(buf);
  if (isIdentity(pt)) fail('IdentityPointError');
  if (!isIdentity(mul(pt, Q))) fail(isIdentity(mul(pt, 4n)) ? 'SmallOrderPointError'
                                                             : 'PointNotInSubgroupError');
  return pt;
}
const hashToScalar = (prefix, usage, data) => leToInt(derive(prefix, usage, data, 57)) % Q;

// -- 3072-bit DH (RFC 3526 group 15) -----------------------------------------------------
const DH_P = BigInt('0x' +
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879' +
  '8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B' +
  '0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836' +
  '1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804' +
  'F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6' +
  '955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64' +
  'ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D226' +
  '1AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2' +
  '08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF');
function decodeDhValue(buf) {  // an MPI that is the whole input, then the group checks
  if (buf.length < 4) fail('TruncatedError');
  const n = buf.readUInt32BE(0);
  if (buf.length < 4 + n) fail('TruncatedError');
  if (n > 0 && buf[4] === 0) fail('NonMinimalMPIError');
  if (buf.length > 4 + n) fail('TrailingDataError');
  const x = n ? BigInt('0x' + buf.subarray(4, 4 + n).toString('hex')) : 0n;
  if (x < 2n || x > DH_P - 2n) fail('DHValueOutOfRangeError');
  if (modpow(x, (DH_P - 1n) / 2n, DH_P) !== 1n) fail('DHValueNotInSubgroupError');
}

// -- EdDSA verification (RFC 8032 §5.2.7, context as in dom4) ----------------------------------
function eddsaVerify(pub, msg, sig, ctx) {
  const a = decodePoint(pub);
  if (sig.length !== 114) fail('SignatureLengthError');
  let r;
  try { r = decodeRfc8032(sig.subarray(0, 57)); } catch (e) { fail('SignaturePointError'); }
  const s = leToInt(sig.subarray(57));
  if (s >= Q) fail('SignatureScalarError');
  const dom = Buffer.concat([Buffer.from('SigEd448'), Buffer.from([0, ctx.length]), ctx]);
  const k = leToInt(shake256(Buffer.concat([dom, sig.subarray(0, 57), encodePoint(a), msg]),
                             114)) % Q;
  const left = encodePoint(mul(G, s)), right = encodePoint(add(r, mul(a, k)));
  if (!left.equals(right)) fail('SignatureMismatchError');
}

// -- ring signature verification (otrv4.md §Verification: RVrf; decision 7) ---------------------
function ringVerify(args) {
  const ring = ['A1', 'A2', 'A3'].map((k) => decodePoint(hex(args[k])));
  const sigma = hex(args.sigma);
  if (sigma.length !== 342) fail('RingSignatureLengthError');
  const v = [0, 1, 2, 3, 4, 5].map((i) => leToInt(sigma.subarray(57 * i, 57 * i + 57)) % Q);
  const t = ring.map((a, i) => add(mul(G, v[2 * i + 1]), mul(a, v[2 * i])));
  const data = Buffer.concat([encodePoint(G), intToLe(Q, 57), ...ring.map(encodePoint),
                              ...t.map(encodePoint), hex(args.message)]);
  const c = hashToScalar(args.prefix, args.usageAuth, data);
  if (c !== (v[0] + v[2] + v[4]) % Q) fail('InvalidRingSignatureError');
}

// -- the operations ------------------------------------------------------------------------
const OPS = {
  hello: () => ({ name: 'level-1 example adapter (Node.js)', levels: [1] }),
  bye: () => ({}),
  'kdf.Otrv4Kdf': (a) => ({ output: derive('OTRv4', a.usageId, hex(a.values), a.size).toString('hex') }),
  'kdf.PrekeyServerKdf': (a) => ({
    output: derive('OTR-Prekey-Server', a.usageId, hex(a.values), a.size).toString('hex') }),
  'kdf.HashToScalar': (a) => ({
    scalar: intToLe(hashToScalar(a.prefix, a.usageId, hex(a.data)), 57).toString('hex') }),
  'ed448-points.Ed448BaseMultiplication': (a) => {
    const pt = mul(G, mod(BigInt(a.k), Q)), [x, y] = affine(pt);
    return { encoded: encodePoint(pt).toString('hex'), x: x.toString(), y: y.toString() };
  },
  'ed448-points.Ed448PointValidation': (a) => {
    const [x, y] = affine(decodePoint(hex(a.encoded)));
    return { x: x.toString(), y: y.toString() };
  },
  'dh3072.PublicValueValidation': (a) => { decodeDhValue(hex(a.mpi)); return {}; },
  'eddsa-ed448.EddsaVerify': (a) => {
    eddsaVerify(hex(a.public), hex(a.message), hex(a.signature), hex(a.context)); return {};
  },
  'ring-signature.RingVerify': (a) => { ringVerify(a); return {}; },
  'pubkey-encoding.TypedKeyEncoding': (a) => {
    const type = Buffer.alloc(2); type.writeUInt16BE(a.keyType);
    return { encoded: Buffer.concat([type, encodePoint(decodePoint(hex(a.point)))]).toString('hex') };
  },
  'pubkey-encoding.TypedKeyDecoding': (a) => {
    const b = hex(a.encoded);
    if (b.length !== 59) fail('PublicKeyLengthError');
    if (b.readUInt16BE(0) !== a.keyType) fail('PublicKeyTypeError');
    return { point: encodePoint(decodePoint(b.subarray(2))).toString('hex') };
  },
  'tlv.TlvEncoding': (a) => {
    const head = Buffer.alloc(4); head.writeUInt16BE(a.type); head.writeUInt16BE(a.value.length / 2, 2);
    return { encoded: Buffer.concat([head, hex(a.value)]).toString('hex') };
  },
};

// -- the loop ----------------------------------------------------------------------------
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  let reply;
  const op = OPS[req.op];
  if (!op) reply = { id: req.id, unsupported: true };
  else {
    try { reply = { id: req.id, result: op(req.args) }; } catch (e) {
      if (!(e instanceof Reject)) throw e;  // a bug: crash loudly, the runner reports it
      reply = { id: req.id, error: e.message };
    }
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
  if (req.op === 'bye') rl.close();
});
