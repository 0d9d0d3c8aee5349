"""Drives PyScep (https://pypi.org/project/PyScep/, a SCEP client nobody
here wrote) for Tests/InteropTests/PyScepClientTests.swift.

    pyscep_client.py caps     URL
    pyscep_client.py enroll   URL CHALLENGE CN OUT_CERT OUT_KEY [SIGNER_CERT SIGNER_KEY]
    pyscep_client.py getcert  URL SIGNER_CERT SIGNER_KEY SERIAL OUT_CERT
    pyscep_client.py getcrl   URL SIGNER_CERT SIGNER_KEY SERIAL OUT_CRL
    pyscep_client.py poll     URL SIGNER_CERT SIGNER_KEY CN TRANSACTION_ID

Each prints one JSON object: the pkiStatus PyScep read (it verifies the
CertRep's signature against the RA certificate it chose), its failInfo,
and what it chose to encrypt to and verify with. `enroll` without a signer
signs with a self-signed certificate for the new key, as a first enrollment
does; with one, the request is signed by an issued certificate (a renewal
by PKCSReq). A Python exception exits 1 with its traceback.
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")  # cryptography's TripleDES deprecation, at import

from asn1crypto.x509 import Name  # noqa: E402
from scep import Client  # noqa: E402
from scep.Client.cryptoutils import hex_digest_for_data  # noqa: E402
from scep.Client.enums import PKIStatus  # noqa: E402

KEY_USAGE = {"digital_signature", "key_encipherment"}


def chosen(client):
    cas = client.get_ca_certs()
    name = lambda cert: cert.subject.human_friendly  # noqa: E731
    return {"caCertificates": len(cas.certificates), "recipient": name(cas.recipient), "signer": name(cas.signer)}


def report(result, client, **extra):
    out = {"pkiStatus": result.status.name}
    if result.status == PKIStatus.FAILURE:
        out["failInfo"] = int(result.fail_info)
    elif result.status == PKIStatus.PENDING:
        out["transactionID"] = result.transaction_id
    out.update(chosen(client))
    out.update(extra)
    print(json.dumps(out))


def load(cert_path, key_path):
    return Client.Certificate.from_pem_file(cert_path), Client.PrivateKey.from_pem_file(key_path)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main(args):
    command, url = args[0], args[1]
    client = Client.Client(url)
    if command == "caps":
        caps = client.get_ca_capabilities()
        print(json.dumps({"capabilities": sorted(c.value for c in caps.caps), **chosen(client)}))
    elif command == "enroll":
        challenge, cn, out_cert, out_key = args[2:6]
        if len(args) > 6:
            identity, identity_key = load(args[6], args[7])
            key = Client.SigningRequest.generate_pair()
        else:
            identity, key = Client.SigningRequest.generate_self_signed(cn=cn, key_usage=KEY_USAGE)
            identity_key = key
        csr, _ = Client.SigningRequest.generate_csr(cn=cn, key_usage=KEY_USAGE, password=challenge or None, private_key=key)
        result = client.enrol(csr=csr, identity=identity, identity_private_key=identity_key)
        extra = {"transactionID": hex_digest_for_data(data=csr.public_key.to_der(), algorithm="sha1")}
        if result.status == PKIStatus.SUCCESS:
            certificate = result.certificates[0]
            write(out_cert, certificate.to_pem())
            write(out_key, key.to_pem())
            extra["serial"] = format(certificate.serial_number, "x")
        report(result, client, **extra)
    elif command == "getcert":
        identity, identity_key = load(args[2], args[3])
        result = client.get_cert(identity=identity, identity_private_key=identity_key, serial_number=int(args[4], 16))
        if result.status == PKIStatus.SUCCESS:
            write(args[5], result.certificates[0].to_pem())
        report(result, client)
    elif command == "getcrl":
        identity, identity_key = load(args[2], args[3])
        result = client.get_crl(identity=identity, identity_private_key=identity_key, serial_number=int(args[4], 16))
        if result.status == PKIStatus.SUCCESS:
            write(args[5], result.crl.to_der())
        report(result, client)
    elif command == "poll":
        identity, identity_key = load(args[2], args[3])
        subject = Name.build({"common_name": args[4]})
        result = client.poll(identity=identity, identity_private_key=identity_key, subject=subject, transaction_id=args[5])
        report(result, client)
    else:
        raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv[1:])
