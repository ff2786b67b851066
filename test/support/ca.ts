// A throw-away certificate authority for the loopback stand-in servers, so tshup is tested with
// real TLS verification (its --ca-file / NODE_EXTRA_CA_CERTS path) instead of disabled checks.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import forge from "node-forge";

export interface TestCA {
  /** `<dir>/ca.pem`, the CA certificate alone, ready for `--ca-file` or `NODE_EXTRA_CA_CERTS`. */
  caFile: string;
  certPem: string;
  keyPem: string;
}

export interface ServerCert {
  certPem: string;
  keyPem: string;
}

interface KeyPair {
  keyPem: string;
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
}

// Keys come from node:crypto (native, a few ms) rather than forge's pure-JS generator (seconds);
// forge only assembles and signs the certificates. Everything is cached for the whole process.
function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return {
    keyPem: privateKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
  };
}

function serialNumber(): string {
  // A leading 0x01 byte keeps the DER integer positive whatever the random bytes are.
  return "01" + randomBytes(15).toString("hex");
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface CAState {
  keys: KeyPair;
  cert: forge.pki.Certificate;
  certPem: string;
}

let caState: CAState | undefined;
let serverKeys: KeyPair | undefined;
const serverCerts = new Map<string, ServerCert>();

function getCA(): CAState {
  if (caState) return caState;
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  // Backdated a day so a stand-in answering with a skewed Date header, or a test host whose clock
  // is slightly behind, still sees a valid certificate.
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + 3650 * DAY_MS);
  const attrs = [
    { name: "commonName", value: "tshup test CA" },
    { name: "organizationName", value: "tshup tests" },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  caState = { keys, cert, certPem: forge.pki.certificateToPem(cert) };
  return caState;
}

/** Creates (once per process) the test CA and writes its certificate to `<dir>/ca.pem`. */
export async function makeTestCA(dir: string): Promise<TestCA> {
  const ca = getCA();
  await mkdir(dir, { recursive: true });
  const caFile = path.join(dir, "ca.pem");
  await writeFile(caFile, ca.certPem);
  return { caFile, certPem: ca.certPem, keyPem: ca.keys.keyPem };
}

/**
 * A server certificate signed by the test CA with DNS SANs `hostnames` and IP SANs `ips`.
 * Every server certificate shares one cached key pair; certificates are cached per SAN set.
 */
export function issueServerCert(ca: TestCA, hostnames: string[], ips: string[]): ServerCert {
  const state = getCA();
  if (ca.certPem !== state.certPem) {
    throw new Error("issueServerCert: the CA given is not the one makeTestCA created in this process");
  }
  const cacheKey = JSON.stringify([hostnames, ips]);
  const cached = serverCerts.get(cacheKey);
  if (cached) return cached;

  serverKeys ??= newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = serverKeys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + 365 * DAY_MS);
  cert.setSubject([{ name: "commonName", value: hostnames[0] ?? ips[0] ?? "localhost" }]);
  cert.setIssuer(state.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: [
        ...hostnames.map((value) => ({ type: 2, value })),
        ...ips.map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: "subjectKeyIdentifier" },
    {
      name: "authorityKeyIdentifier",
      keyIdentifier: state.cert.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  cert.sign(state.keys.privateKey, forge.md.sha256.create());
  const issued = { certPem: forge.pki.certificateToPem(cert), keyPem: serverKeys.keyPem };
  serverCerts.set(cacheKey, issued);
  return issued;
}
