/**
 * Reads the validity window of an OpenSSH certificate (`<type>-cert-v01@openssh.com <base64>`),
 * the file tsh keeps as `keys/<proxy>/<user>-ssh/<cluster>-cert.pub`. Returns null for anything else.
 */
export function certificateValidity(text: string): { validAfter: Date; validBefore: Date; keyId: string } | null {
  const m = /^\s*(\S+-cert-v01@openssh\.com)\s+([A-Za-z0-9+/=]+)/.exec(text);
  if (!m) return null;
  const blob = Buffer.from(m[2]!, "base64");
  let off = 0;
  const u32 = () => {
    if (off + 4 > blob.length) throw new RangeError("short");
    const v = blob.readUInt32BE(off);
    off += 4;
    return v;
  };
  const bytes = () => {
    const n = u32();
    if (off + n > blob.length) throw new RangeError("short");
    const v = blob.subarray(off, off + n);
    off += n;
    return v;
  };
  const u64 = () => {
    if (off + 8 > blob.length) throw new RangeError("short");
    const v = blob.readBigUInt64BE(off);
    off += 8;
    return v;
  };
  // Public key fields between the nonce and the serial, per key type (PROTOCOL.certkeys).
  const keyFields: Record<string, number> = {
    "ssh-rsa-cert-v01@openssh.com": 2,
    "ssh-dss-cert-v01@openssh.com": 4,
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": 2,
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": 2,
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": 2,
    "ssh-ed25519-cert-v01@openssh.com": 1,
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": 3,
    "sk-ssh-ed25519-cert-v01@openssh.com": 2,
  };
  try {
    const type = bytes().toString("latin1");
    const fields = keyFields[type];
    if (fields === undefined || type !== m[1]) return null;
    bytes(); // nonce
    for (let i = 0; i < fields; i++) bytes();
    u64(); // serial
    u32(); // cert type
    const keyId = bytes().toString("utf8");
    bytes(); // principals
    const after = u64();
    const before = u64();
    const toDate = (v: bigint) => new Date(v >= 0xffffffffffffffffn ? 8.64e15 : Number(v) * 1000);
    return { validAfter: toDate(after), validBefore: toDate(before), keyId };
  } catch {
    return null;
  }
}
