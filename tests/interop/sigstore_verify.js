// Verifies a Sigstore bundle with Sigstore's JavaScript verifier (@sigstore/verify) against a
// trusted root, with the settings for a private CA and no transparency log: tlogThreshold 0,
// ctlogThreshold 0, timestampThreshold 1. Usage: node sigstore_verify.js BUNDLE TRUSTED_ROOT.
// Prints "verified" and exits 0, or prints the verifier's error and exits 1.
'use strict';
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')));
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(process.argv[3], 'utf8')));
  const verifier = new Verifier(toTrustMaterial(root), {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 1,
  });
  const signer = verifier.verify(toSignedEntity(bundle));
  const san = signer.identity && signer.identity.subjectAlternativeName;
  console.log('verified' + (san ? ' ' + san : ''));
} catch (e) {
  console.log(`refused: ${e.code || ''} ${e.message}`); if (process.env.SIGSTORE_DEBUG) console.log(e.stack);
  process.exit(1);
}
