//! A small NTLMv2 acceptor: the server side of the NTLM handshake, as IIS runs it for
//! Exchange's EWS and Autodiscover virtual directories.
//!
//! Written on `md4`, `md-5`, `hmac`, `getrandom` and `subtle` rather than taken from `sspi`
//! because `sspi`'s acceptor does not verify the NTLMv2 proof (a client that sends no MIC is
//! accepted with any password, Devolutions/sspi-rs#172), accepts unknown users and rejects
//! curl's NEGOTIATE message. A simulator that lets a wrong password through would hide the
//! very bugs it exists to catch.
//!
//! What is checked, following [MS-NLMP] section 3.2.5.1.2 (server receiving an
//! AUTHENTICATE_MESSAGE): the user exists (through a caller-supplied lookup), the NTProofStr
//! (compared in constant time), and the MIC whenever the client's AV pairs say one is present.
//! NTLMv1 responses are refused, as on a server with `LmCompatibilityLevel` 5. Channel
//! bindings (EPA) are not checked.
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/b38c36ed-2804-4868-a9ff-8dd3182128e4

use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use subtle::ConstantTimeEq;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

const NEGOTIATE_MESSAGE: u32 = 1;
const CHALLENGE_MESSAGE: u32 = 2;
const AUTHENTICATE_MESSAGE: u32 = 3;

// NegotiateFlags, [MS-NLMP] 2.2.2.5.
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const NEGOTIATE_OEM: u32 = 0x0000_0002;
const REQUEST_TARGET: u32 = 0x0000_0004;
const NEGOTIATE_SIGN: u32 = 0x0000_0010;
const NEGOTIATE_SEAL: u32 = 0x0000_0020;
const NEGOTIATE_NTLM: u32 = 0x0000_0200;
const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
const NEGOTIATE_VERSION: u32 = 0x0200_0000;
const NEGOTIATE_128: u32 = 0x2000_0000;
const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
const NEGOTIATE_56: u32 = 0x8000_0000;

/// Flags the server grants when the client asks for them; everything else it decides itself.
const ECHOED_FLAGS: u32 = NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;

// AV pair ids, [MS-NLMP] 2.2.2.1.
const MSV_AV_EOL: u16 = 0;
const MSV_AV_NB_COMPUTER_NAME: u16 = 1;
const MSV_AV_NB_DOMAIN_NAME: u16 = 2;
const MSV_AV_DNS_COMPUTER_NAME: u16 = 3;
const MSV_AV_DNS_DOMAIN_NAME: u16 = 4;
const MSV_AV_DNS_TREE_NAME: u16 = 5;
const MSV_AV_FLAGS: u16 = 6;
const MSV_AV_TIMESTAMP: u16 = 7;
/// MsvAvFlags bit: "the client is providing message integrity in the MIC field".
const AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// Where the MIC sits in an AUTHENTICATE_MESSAGE that carries the Version field.
const MIC_RANGE: std::ops::Range<usize> = 72..88;

/// Version field sent in the CHALLENGE_MESSAGE (Windows Server 2016, NTLM revision 15);
/// informational only, but clients that set NEGOTIATE_VERSION expect the field.
const SERVER_VERSION: [u8; 8] = [10, 0, 0x39, 0x38, 0, 0, 0, 0x0f];

/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET_SECS: u64 = 11_644_473_600;

type HmacMd5 = Hmac<Md5>;

/// Why an NTLM message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtlmError {
    /// The token does not start with `NTLMSSP\0`.
    #[error("not an NTLMSSP message")]
    NotNtlm,
    /// A message of another type arrived than the handshake expects next.
    #[error("expected NTLM message type {expected}, got {actual}")]
    UnexpectedMessageType {
        /// The type the handshake expects.
        expected: u32,
        /// The type that arrived.
        actual: u32,
    },
    /// A length or offset points outside the message, or a field is too short.
    #[error("malformed NTLM message: {0}")]
    Malformed(&'static str),
    /// An anonymous AUTHENTICATE message (no user, no response).
    #[error("anonymous NTLM logon refused")]
    Anonymous,
    /// An NTLMv1 (24-byte) response: refused like a server at LmCompatibilityLevel 5.
    #[error("NTLMv1 response refused; NTLMv2 is required")]
    NtlmV1Refused,
    /// The user (with that domain) is not in the directory.
    #[error("unknown user")]
    UnknownUser,
    /// The NTProofStr does not match: wrong password (or a tampered message).
    #[error("NTLMv2 proof does not match")]
    WrongProof,
    /// The client claimed a MIC and it does not match the three messages.
    #[error("MIC does not match the handshake")]
    WrongMic,
    /// The operating system could not supply random bytes for the challenge.
    #[error("no randomness for the server challenge")]
    Random,
}

/// The server's identity, sent in every CHALLENGE_MESSAGE.
#[derive(Debug, Clone)]
pub struct NtlmServer {
    netbios_domain: String,
    netbios_computer: String,
    dns_domain: String,
    dns_computer: String,
}

impl NtlmServer {
    /// A server named `computer` (NetBIOS name, e.g. `EXCH01`) in the NetBIOS domain
    /// `netbios_domain` (`CONTOSO`) and DNS domain `dns_domain` (`contoso.test`).
    pub fn new(netbios_domain: &str, dns_domain: &str, computer: &str) -> Self {
        Self {
            netbios_domain: netbios_domain.to_ascii_uppercase(),
            netbios_computer: computer.to_ascii_uppercase(),
            dns_domain: dns_domain.to_ascii_lowercase(),
            dns_computer: format!(
                "{}.{}",
                computer.to_ascii_lowercase(),
                dns_domain.to_ascii_lowercase()
            ),
        }
    }

    /// Answers a NEGOTIATE_MESSAGE with a CHALLENGE_MESSAGE carrying a fresh random
    /// challenge and the current time. Returns the state to keep on the connection and the
    /// message to send in `WWW-Authenticate: NTLM <base64>`.
    pub fn challenge(&self, negotiate: &[u8]) -> Result<(PendingChallenge, Vec<u8>), NtlmError> {
        let mut server_challenge = [0u8; 8];
        getrandom::fill(&mut server_challenge).map_err(|_| NtlmError::Random)?;
        self.challenge_with(negotiate, server_challenge, filetime_now())
    }

    /// [`NtlmServer::challenge`] with a given challenge and timestamp (FILETIME), so tests
    /// can reproduce published vectors.
    pub fn challenge_with(
        &self,
        negotiate: &[u8],
        server_challenge: [u8; 8],
        timestamp: u64,
    ) -> Result<(PendingChallenge, Vec<u8>), NtlmError> {
        let client_flags = parse_negotiate(negotiate)?;
        let flags = challenge_flags(client_flags);
        let unicode = flags & NEGOTIATE_UNICODE != 0;

        let target_name = encode_string(&self.netbios_domain, unicode);
        let mut target_info = Vec::new();
        push_av_pair(
            &mut target_info,
            MSV_AV_NB_DOMAIN_NAME,
            &utf16le(&self.netbios_domain),
        );
        push_av_pair(
            &mut target_info,
            MSV_AV_NB_COMPUTER_NAME,
            &utf16le(&self.netbios_computer),
        );
        push_av_pair(
            &mut target_info,
            MSV_AV_DNS_DOMAIN_NAME,
            &utf16le(&self.dns_domain),
        );
        push_av_pair(
            &mut target_info,
            MSV_AV_DNS_COMPUTER_NAME,
            &utf16le(&self.dns_computer),
        );
        push_av_pair(
            &mut target_info,
            MSV_AV_DNS_TREE_NAME,
            &utf16le(&self.dns_domain),
        );
        push_av_pair(&mut target_info, MSV_AV_TIMESTAMP, &timestamp.to_le_bytes());
        push_av_pair(&mut target_info, MSV_AV_EOL, &[]);

        const HEADER_LEN: usize = 56;
        let mut msg = Vec::with_capacity(HEADER_LEN + target_name.len() + target_info.len());
        msg.extend_from_slice(SIGNATURE);
        msg.extend_from_slice(&CHALLENGE_MESSAGE.to_le_bytes());
        let name_offset = HEADER_LEN;
        let info_offset = name_offset + target_name.len();
        push_field(&mut msg, target_name.len(), name_offset)?;
        msg.extend_from_slice(&flags.to_le_bytes());
        msg.extend_from_slice(&server_challenge);
        msg.extend_from_slice(&[0u8; 8]);
        push_field(&mut msg, target_info.len(), info_offset)?;
        msg.extend_from_slice(&SERVER_VERSION);
        msg.extend_from_slice(&target_name);
        msg.extend_from_slice(&target_info);

        Ok((
            PendingChallenge {
                server_challenge,
                negotiate: negotiate.to_vec(),
                challenge: msg.clone(),
                flags,
            },
            msg,
        ))
    }
}

/// A challenge sent on a connection, waiting for the client's AUTHENTICATE_MESSAGE. It holds
/// the first two messages because the MIC covers all three.
#[derive(Clone)]
pub struct PendingChallenge {
    server_challenge: [u8; 8],
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    flags: u32,
}

impl std::fmt::Debug for PendingChallenge {
    // The challenge is not secret, but nothing of the handshake needs to reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingChallenge").finish_non_exhaustive()
    }
}

/// Who a verified AUTHENTICATE_MESSAGE proves the client to be, as the client spelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmLogon {
    /// The user name (`jdoe`, or `jdoe@contoso.test` when the client sent a UPN).
    pub user: String,
    /// The domain (`CONTOSO`, `contoso.test`, or empty with a UPN).
    pub domain: String,
    /// The client's workstation name (informational).
    pub workstation: String,
}

impl PendingChallenge {
    /// Verifies an AUTHENTICATE_MESSAGE against this challenge. `password_of(user, domain)`
    /// returns the password of that account, or `None` when no such account exists.
    pub fn authenticate(
        &self,
        authenticate: &[u8],
        password_of: impl FnOnce(&str, &str) -> Option<String>,
    ) -> Result<NtlmLogon, NtlmError> {
        check_header(authenticate, AUTHENTICATE_MESSAGE)?;
        let nt_response = field(authenticate, 20)?;
        let domain_raw = field(authenticate, 28)?;
        let user_raw = field(authenticate, 36)?;
        let workstation_raw = field(authenticate, 44)?;
        let encrypted_session_key = field(authenticate, 52)?;
        let message_flags = u32_at(authenticate, 60)?;

        // The strings use the encoding negotiated in the challenge; a client that repeats
        // its own choice in the AUTHENTICATE flags is believed.
        let unicode = if message_flags & (NEGOTIATE_UNICODE | NEGOTIATE_OEM) != 0 {
            message_flags & NEGOTIATE_UNICODE != 0
        } else {
            self.flags & NEGOTIATE_UNICODE != 0
        };
        let user = decode_string(user_raw, unicode)?;
        let domain = decode_string(domain_raw, unicode)?;
        let workstation = decode_string(workstation_raw, unicode)?;

        if user.is_empty() && nt_response.is_empty() {
            return Err(NtlmError::Anonymous);
        }
        if nt_response.len() <= 24 {
            return Err(NtlmError::NtlmV1Refused);
        }
        let (proof, client_blob) = nt_response.split_at(16);
        // NTLMv2_CLIENT_CHALLENGE: RespType, HiRespType, 6 reserved, Time, ChallengeFromClient,
        // 4 reserved, then the AV pairs ([MS-NLMP] 2.2.2.7).
        let av_pairs = client_blob
            .get(28..)
            .ok_or(NtlmError::Malformed("NTLMv2 client challenge too short"))?;

        let password = password_of(&user, &domain).ok_or(NtlmError::UnknownUser)?;
        let response_key = ntowf_v2(&password, &user, &domain);
        let expected_proof = nt_proof_str(&response_key, &self.server_challenge, client_blob)?;
        if !bool::from(expected_proof.ct_eq(proof)) {
            return Err(NtlmError::WrongProof);
        }

        if mic_present(av_pairs)? {
            let session_base_key = hmac_md5(&response_key, &[&expected_proof])?;
            let key_exchange = self.flags & NEGOTIATE_KEY_EXCH != 0;
            let exported_session_key = if key_exchange && encrypted_session_key.len() == 16 {
                rc4(&session_base_key, encrypted_session_key)
            } else {
                session_base_key.to_vec()
            };
            let sent_mic = authenticate
                .get(MIC_RANGE)
                .ok_or(NtlmError::Malformed("MIC claimed but message too short"))?;
            let mut zeroed = authenticate.to_vec();
            if let Some(mic) = zeroed.get_mut(MIC_RANGE) {
                mic.fill(0);
            }
            let expected_mic = hmac_md5(
                &exported_session_key,
                &[&self.negotiate, &self.challenge, &zeroed],
            )?;
            if !bool::from(expected_mic.ct_eq(sent_mic)) {
                return Err(NtlmError::WrongMic);
            }
        }

        Ok(NtlmLogon {
            user,
            domain,
            workstation,
        })
    }
}

/// The NTLM message type of a token (1, 2 or 3), so the HTTP layer knows which leg it holds.
pub fn message_type(token: &[u8]) -> Result<u32, NtlmError> {
    if token.get(..8) != Some(SIGNATURE.as_slice()) {
        return Err(NtlmError::NotNtlm);
    }
    u32_at(token, 8)
}

/// The current time as a Windows FILETIME (100 ns ticks since 1601).
fn filetime_now() -> u64 {
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (since_unix.as_secs() + FILETIME_UNIX_OFFSET_SECS) * 10_000_000
        + u64::from(since_unix.subsec_nanos() / 100)
}

fn parse_negotiate(negotiate: &[u8]) -> Result<u32, NtlmError> {
    check_header(negotiate, NEGOTIATE_MESSAGE)?;
    // Only Signature, MessageType and NegotiateFlags are required: old clients (and curl)
    // send short NEGOTIATE messages, and a server must not read past byte 16 unless the
    // OEM_*_SUPPLIED flags say so.
    u32_at(negotiate, 12)
}

/// The flags of the CHALLENGE_MESSAGE: what the server always offers, plus what the client
/// asked for among the options it may decide ([MS-NLMP] 3.2.5.1.1).
fn challenge_flags(client: u32) -> u32 {
    let mut flags = NEGOTIATE_NTLM
        | REQUEST_TARGET
        | TARGET_TYPE_DOMAIN
        | NEGOTIATE_TARGET_INFO
        | NEGOTIATE_VERSION
        | (client & ECHOED_FLAGS);
    // Unicode when the client can do it, OEM only for a client that asks for nothing else.
    if client & NEGOTIATE_UNICODE != 0 || client & NEGOTIATE_OEM == 0 {
        flags |= NEGOTIATE_UNICODE;
    } else {
        flags |= NEGOTIATE_OEM;
    }
    flags
}

fn check_header(msg: &[u8], expected: u32) -> Result<(), NtlmError> {
    let actual = message_type(msg)?;
    if actual != expected {
        return Err(NtlmError::UnexpectedMessageType { expected, actual });
    }
    Ok(())
}

fn u16_at(msg: &[u8], at: usize) -> Result<u16, NtlmError> {
    let end = at.checked_add(2).ok_or(NtlmError::Malformed("offset"))?;
    let bytes: [u8; 2] = msg
        .get(at..end)
        .and_then(|s| s.try_into().ok())
        .ok_or(NtlmError::Malformed("message too short"))?;
    Ok(u16::from_le_bytes(bytes))
}

fn u32_at(msg: &[u8], at: usize) -> Result<u32, NtlmError> {
    let end = at.checked_add(4).ok_or(NtlmError::Malformed("offset"))?;
    let bytes: [u8; 4] = msg
        .get(at..end)
        .and_then(|s| s.try_into().ok())
        .ok_or(NtlmError::Malformed("message too short"))?;
    Ok(u32::from_le_bytes(bytes))
}

/// The payload a `(Len, MaxLen, BufferOffset)` field descriptor at `at` points to.
fn field(msg: &[u8], at: usize) -> Result<&[u8], NtlmError> {
    let len = usize::from(u16_at(msg, at)?);
    if len == 0 {
        return Ok(&[]);
    }
    let offset =
        usize::try_from(u32_at(msg, at + 4)?).map_err(|_| NtlmError::Malformed("field offset"))?;
    let end = offset
        .checked_add(len)
        .ok_or(NtlmError::Malformed("field offset"))?;
    msg.get(offset..end)
        .ok_or(NtlmError::Malformed("field outside the message"))
}

fn push_field(msg: &mut Vec<u8>, len: usize, offset: usize) -> Result<(), NtlmError> {
    let len = u16::try_from(len).map_err(|_| NtlmError::Malformed("field too long"))?;
    let offset = u32::try_from(offset).map_err(|_| NtlmError::Malformed("field offset"))?;
    msg.extend_from_slice(&len.to_le_bytes());
    msg.extend_from_slice(&len.to_le_bytes());
    msg.extend_from_slice(&offset.to_le_bytes());
    Ok(())
}

fn push_av_pair(out: &mut Vec<u8>, id: u16, value: &[u8]) {
    // Every value here is a short name or a timestamp; a longer one cannot occur.
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
}

/// True when the client's AV pairs carry MsvAvFlags with the MIC bit.
fn mic_present(mut av_pairs: &[u8]) -> Result<bool, NtlmError> {
    loop {
        let id = u16_at(av_pairs, 0)?;
        let len = usize::from(u16_at(av_pairs, 2)?);
        let value = av_pairs
            .get(4..4 + len)
            .ok_or(NtlmError::Malformed("AV pair outside the response"))?;
        match id {
            MSV_AV_EOL => return Ok(false),
            MSV_AV_FLAGS => return Ok(u32_at(value, 0)? & AV_FLAG_MIC_PRESENT != 0),
            _ => av_pairs = av_pairs.get(4 + len..).unwrap_or_default(),
        }
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn encode_string(s: &str, unicode: bool) -> Vec<u8> {
    if unicode {
        utf16le(s)
    } else {
        // OEM strings: the names the simulator uses are ASCII.
        s.bytes().collect()
    }
}

fn decode_string(raw: &[u8], unicode: bool) -> Result<String, NtlmError> {
    if unicode {
        if !raw.len().is_multiple_of(2) {
            return Err(NtlmError::Malformed("odd-length UTF-16 string"));
        }
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| {
                u16::from_le_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        String::from_utf16(&units).map_err(|_| NtlmError::Malformed("invalid UTF-16 string"))
    } else {
        // OEM code page: read as Latin-1, which is exact for ASCII names.
        Ok(raw.iter().map(|&b| char::from(b)).collect())
    }
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 16], NtlmError> {
    let mut mac = HmacMd5::new_from_slice(key).map_err(|_| NtlmError::Malformed("HMAC key"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// NTOWFv2 ([MS-NLMP] 3.3.2): HMAC-MD5 keyed with the NT hash over UPPER(user) + domain.
/// Only the user name is upper-cased; the domain is used as the client sent it.
fn ntowf_v2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let nt_hash: [u8; 16] = Md4::digest(utf16le(password)).into();
    let mut identity = utf16le(&user.to_uppercase());
    identity.extend_from_slice(&utf16le(domain));
    // An HMAC key of 16 bytes is always accepted.
    hmac_md5(&nt_hash, &[&identity]).unwrap_or_default()
}

/// NTProofStr = HMAC-MD5(ResponseKeyNT, ServerChallenge || temp).
fn nt_proof_str(
    response_key: &[u8; 16],
    server_challenge: &[u8; 8],
    client_blob: &[u8],
) -> Result<[u8; 16], NtlmError> {
    hmac_md5(response_key, &[server_challenge, client_blob])
}

/// RC4, only to unwrap the 16-byte EncryptedRandomSessionKey when KEY_EXCH is negotiated.
fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    if key.is_empty() {
        return data.to_vec();
    }
    let mut j: u8 = 0;
    for i in 0..256 {
        let k = key.get(i % key.len()).copied().unwrap_or(0);
        j = j.wrapping_add(s[i]).wrapping_add(k);
        s.swap(i, usize::from(j));
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|&byte| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[usize::from(i)]);
            s.swap(usize::from(i), usize::from(j));
            let t = s[usize::from(i)].wrapping_add(s[usize::from(j)]);
            byte ^ s[usize::from(t)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // [MS-NLMP] 4.2.1 common values and 4.2.4 NTLMv2 results.
    const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    const CLIENT_CHALLENGE: [u8; 8] = [0xaa; 8];
    const NTOWF_V2: [u8; 16] = [
        0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93, 0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0, 0x2e,
        0x3f,
    ];
    const NT_PROOF_STR: [u8; 16] = [
        0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96, 0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a,
        0x1c,
    ];
    const SESSION_BASE_KEY: [u8; 16] = [
        0x8d, 0xe4, 0x0c, 0xca, 0xdb, 0xc1, 0x4a, 0x82, 0xf1, 0x5c, 0xb0, 0xad, 0x0d, 0xe9, 0x5c,
        0xa3,
    ];
    const ENCRYPTED_SESSION_KEY: [u8; 16] = [
        0xc5, 0xda, 0xd2, 0x54, 0x4f, 0xc9, 0x79, 0x90, 0x94, 0xce, 0x1c, 0xe9, 0x0b, 0xc9, 0xd0,
        0x3e,
    ];
    /// NEGOTIATE flags of the 4.2.4 example (0xe28a8233).
    const SPEC_FLAGS: u32 = 0xe28a_8233;

    /// The NTLMv2 `temp` blob of 4.2.4.2.2: time 0, the client challenge, and the AV pairs
    /// NbDomainName "Domain", NbComputerName "Server".
    fn spec_client_blob() -> Vec<u8> {
        let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
        blob.extend_from_slice(&[0u8; 8]);
        blob.extend_from_slice(&CLIENT_CHALLENGE);
        blob.extend_from_slice(&[0u8; 4]);
        push_av_pair(&mut blob, MSV_AV_NB_DOMAIN_NAME, &utf16le("Domain"));
        push_av_pair(&mut blob, MSV_AV_NB_COMPUTER_NAME, &utf16le("Server"));
        push_av_pair(&mut blob, MSV_AV_EOL, &[]);
        blob.extend_from_slice(&[0u8; 4]);
        blob
    }

    fn spec_pending() -> PendingChallenge {
        PendingChallenge {
            server_challenge: SERVER_CHALLENGE,
            negotiate: Vec::new(),
            challenge: Vec::new(),
            flags: SPEC_FLAGS,
        }
    }

    /// Lays out an AUTHENTICATE_MESSAGE with Version and MIC fields (88-byte header).
    fn authenticate_message(
        nt_response: &[u8],
        domain: &str,
        user: &str,
        encrypted_key: &[u8],
        flags: u32,
    ) -> Vec<u8> {
        let payloads: [Vec<u8>; 6] = [
            vec![0u8; 24],
            nt_response.to_vec(),
            utf16le(domain),
            utf16le(user),
            utf16le("COMPUTER"),
            encrypted_key.to_vec(),
        ];
        let mut msg = Vec::new();
        msg.extend_from_slice(SIGNATURE);
        msg.extend_from_slice(&AUTHENTICATE_MESSAGE.to_le_bytes());
        let mut offset = 88;
        for p in &payloads {
            push_field(&mut msg, p.len(), offset).unwrap();
            offset += p.len();
        }
        msg.extend_from_slice(&flags.to_le_bytes());
        msg.extend_from_slice(&[0u8; 8]); // Version
        msg.extend_from_slice(&[0u8; 16]); // MIC
        for p in &payloads {
            msg.extend_from_slice(p);
        }
        msg
    }

    fn spec_authenticate(user: &str) -> Vec<u8> {
        let mut nt_response = NT_PROOF_STR.to_vec();
        nt_response.extend_from_slice(&spec_client_blob());
        authenticate_message(
            &nt_response,
            "Domain",
            user,
            &ENCRYPTED_SESSION_KEY,
            SPEC_FLAGS,
        )
    }

    fn password_is(password: &'static str) -> impl Fn(&str, &str) -> Option<String> {
        move |user, _| {
            user.eq_ignore_ascii_case("user")
                .then(|| password.to_owned())
        }
    }

    /// A minimal NTLMv2 client, enough to build AUTHENTICATE messages the acceptor must judge.
    struct TestClient {
        negotiate: Vec<u8>,
    }

    impl TestClient {
        fn new(flags: u32) -> Self {
            let mut negotiate = SIGNATURE.to_vec();
            negotiate.extend_from_slice(&NEGOTIATE_MESSAGE.to_le_bytes());
            negotiate.extend_from_slice(&flags.to_le_bytes());
            negotiate.extend_from_slice(&[0u8; 16]);
            Self { negotiate }
        }

        /// Answers `challenge` for user/domain/password; with `mic`, claims and computes a MIC.
        fn authenticate(
            &self,
            challenge: &[u8],
            user: &str,
            domain: &str,
            password: &str,
            mic: bool,
        ) -> Vec<u8> {
            let server_challenge: [u8; 8] = challenge[24..32].try_into().unwrap();
            let flags = u32_at(challenge, 20).unwrap();
            let target_info = field(challenge, 40).unwrap();
            let mut av = Vec::new();
            let mut rest = target_info;
            loop {
                let id = u16_at(rest, 0).unwrap();
                let len = usize::from(u16_at(rest, 2).unwrap());
                if id == MSV_AV_EOL {
                    break;
                }
                av.extend_from_slice(&rest[..4 + len]);
                rest = &rest[4 + len..];
            }
            if mic {
                push_av_pair(&mut av, MSV_AV_FLAGS, &AV_FLAG_MIC_PRESENT.to_le_bytes());
            }
            push_av_pair(&mut av, MSV_AV_EOL, &[]);
            let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
            blob.extend_from_slice(&filetime_now().to_le_bytes());
            blob.extend_from_slice(&CLIENT_CHALLENGE);
            blob.extend_from_slice(&[0u8; 4]);
            blob.extend_from_slice(&av);
            blob.extend_from_slice(&[0u8; 4]);
            let key = ntowf_v2(password, user, domain);
            let proof = nt_proof_str(&key, &server_challenge, &blob).unwrap();
            let mut nt_response = proof.to_vec();
            nt_response.extend_from_slice(&blob);
            let base_key = hmac_md5(&key, &[&proof]).unwrap();
            let exported = [0x55u8; 16];
            let encrypted = rc4(&base_key, &exported);
            let mut msg = authenticate_message(&nt_response, domain, user, &encrypted, flags);
            if mic {
                let mic = hmac_md5(&exported, &[&self.negotiate, challenge, &msg]).unwrap();
                msg[MIC_RANGE].copy_from_slice(&mic);
            }
            msg
        }
    }

    fn server() -> NtlmServer {
        NtlmServer::new("CONTOSO", "contoso.test", "EXCH01")
    }

    const CLIENT_FLAGS: u32 = NEGOTIATE_UNICODE
        | REQUEST_TARGET
        | NEGOTIATE_NTLM
        | NEGOTIATE_SIGN
        | NEGOTIATE_ALWAYS_SIGN
        | NEGOTIATE_EXTENDED_SESSIONSECURITY
        | NEGOTIATE_KEY_EXCH
        | NEGOTIATE_128
        | NEGOTIATE_56;

    fn handshake(password: &str, mic: bool) -> (PendingChallenge, Vec<u8>) {
        let client = TestClient::new(CLIENT_FLAGS);
        let (pending, challenge) = server().challenge(&client.negotiate).unwrap();
        let auth = client.authenticate(&challenge, "jdoe", "CONTOSO", password, mic);
        (pending, auth)
    }

    fn directory(user: &str, _domain: &str) -> Option<String> {
        user.eq_ignore_ascii_case("jdoe")
            .then(|| "Secret1!".to_owned())
    }

    #[test]
    fn ntowf_v2_matches_the_published_vector() {
        assert_eq!(ntowf_v2("Password", "User", "Domain"), NTOWF_V2);
    }

    #[test]
    fn the_domain_is_not_upper_cased_in_ntowf_v2() {
        assert_ne!(
            ntowf_v2("Password", "User", "DOMAIN"),
            ntowf_v2("Password", "User", "Domain")
        );
    }

    #[test]
    fn published_ntlmv2_response_is_accepted_with_the_right_password() {
        let logon = spec_pending()
            .authenticate(&spec_authenticate("User"), password_is("Password"))
            .unwrap();
        assert_eq!(logon.user, "User");
        assert_eq!(logon.domain, "Domain");
    }

    #[test]
    fn published_proof_and_session_keys_are_reproduced() {
        let blob = spec_client_blob();
        let proof = nt_proof_str(&NTOWF_V2, &SERVER_CHALLENGE, &blob).unwrap();
        assert_eq!(proof, NT_PROOF_STR);
        let base = hmac_md5(&NTOWF_V2, &[&proof]).unwrap();
        assert_eq!(base, SESSION_BASE_KEY);
        assert_eq!(rc4(&base, &ENCRYPTED_SESSION_KEY), vec![0x55u8; 16]);
    }

    #[test]
    fn published_ntlmv2_response_is_rejected_with_a_wrong_password() {
        let err = spec_pending()
            .authenticate(&spec_authenticate("User"), password_is("Passw0rd"))
            .unwrap_err();
        assert_eq!(err, NtlmError::WrongProof);
    }

    #[test]
    fn unknown_user_is_rejected() {
        let err = spec_pending()
            .authenticate(&spec_authenticate("Nobody"), password_is("Password"))
            .unwrap_err();
        assert_eq!(err, NtlmError::UnknownUser);
    }

    #[test]
    fn handshake_with_mic_succeeds_with_the_right_password() {
        let (pending, auth) = handshake("Secret1!", true);
        let logon = pending.authenticate(&auth, directory).unwrap();
        assert_eq!(logon.user, "jdoe");
        assert_eq!(logon.domain, "CONTOSO");
    }

    #[test]
    fn handshake_without_mic_succeeds_with_the_right_password() {
        let (pending, auth) = handshake("Secret1!", false);
        assert!(pending.authenticate(&auth, directory).is_ok());
    }

    #[test]
    fn wrong_password_without_mic_is_rejected() {
        let (pending, auth) = handshake("wrong", false);
        assert_eq!(
            pending.authenticate(&auth, directory).unwrap_err(),
            NtlmError::WrongProof
        );
    }

    #[test]
    fn tampered_mic_is_rejected() {
        let (pending, mut auth) = handshake("Secret1!", true);
        auth[MIC_RANGE.start] ^= 0x01;
        assert_eq!(
            pending.authenticate(&auth, directory).unwrap_err(),
            NtlmError::WrongMic
        );
    }

    #[test]
    fn clearing_the_mic_flag_breaks_the_proof() {
        let (pending, mut auth) = handshake("Secret1!", true);
        // MsvAvFlags sits inside the NTLMv2 blob that the proof covers.
        let flag = AV_FLAG_MIC_PRESENT.to_le_bytes();
        let needle = [&MSV_AV_FLAGS.to_le_bytes()[..], &4u16.to_le_bytes(), &flag].concat();
        let at = auth
            .windows(needle.len())
            .position(|w| w == needle.as_slice())
            .unwrap();
        auth[at + 4] = 0;
        assert_eq!(
            pending.authenticate(&auth, directory).unwrap_err(),
            NtlmError::WrongProof
        );
    }

    #[test]
    fn answer_to_another_challenge_is_rejected() {
        let (_, auth) = handshake("Secret1!", false);
        let (other, _) = server()
            .challenge(&TestClient::new(CLIENT_FLAGS).negotiate)
            .unwrap();
        assert_eq!(
            other.authenticate(&auth, directory).unwrap_err(),
            NtlmError::WrongProof
        );
    }

    #[test]
    fn ntlmv1_response_is_refused() {
        let msg = authenticate_message(&[0u8; 24], "CONTOSO", "jdoe", &[], CLIENT_FLAGS);
        assert_eq!(
            spec_pending().authenticate(&msg, directory).unwrap_err(),
            NtlmError::NtlmV1Refused
        );
    }

    #[test]
    fn curl_style_short_negotiate_gets_an_oem_challenge() {
        // curl sends 32 bytes without Unicode: OEM | REQUEST_TARGET | NTLM | ALWAYS_SIGN | NTLM2.
        let mut negotiate = SIGNATURE.to_vec();
        negotiate.extend_from_slice(&1u32.to_le_bytes());
        negotiate.extend_from_slice(&0x0008_8206u32.to_le_bytes());
        negotiate.extend_from_slice(&[0u8; 16]);
        let (_, challenge) = server().challenge(&negotiate).unwrap();
        let flags = u32_at(&challenge, 20).unwrap();
        assert_eq!(flags & NEGOTIATE_OEM, NEGOTIATE_OEM);
        assert_eq!(flags & NEGOTIATE_UNICODE, 0);
        assert_eq!(field(&challenge, 12).unwrap(), b"CONTOSO");
    }

    #[test]
    fn key_exchange_is_offered_only_when_asked_for() {
        let without = challenge_flags(CLIENT_FLAGS & !NEGOTIATE_KEY_EXCH);
        assert_eq!(without & NEGOTIATE_KEY_EXCH, 0);
        assert_ne!(challenge_flags(CLIENT_FLAGS) & NEGOTIATE_KEY_EXCH, 0);
    }

    #[test]
    fn challenge_carries_the_server_names_and_a_timestamp() {
        let (_, challenge) = server()
            .challenge_with(
                &TestClient::new(CLIENT_FLAGS).negotiate,
                SERVER_CHALLENGE,
                42,
            )
            .unwrap();
        assert_eq!(&challenge[24..32], &SERVER_CHALLENGE);
        let info = field(&challenge, 40).unwrap();
        let contains = |needle: &[u8]| info.windows(needle.len()).any(|w| w == needle);
        assert!(contains(&utf16le("CONTOSO")));
        assert!(contains(&utf16le("exch01.contoso.test")));
        let ts = [
            &MSV_AV_TIMESTAMP.to_le_bytes()[..],
            &8u16.to_le_bytes(),
            &42u64.to_le_bytes(),
        ]
        .concat();
        assert!(contains(&ts));
    }

    #[test]
    fn garbage_is_not_an_ntlm_message() {
        assert_eq!(
            message_type(b"hello world, no NTLM"),
            Err(NtlmError::NotNtlm)
        );
        assert!(server().challenge(b"NTLMSSP\0\x01\0").is_err());
    }

    #[test]
    fn field_pointing_outside_the_message_is_malformed() {
        let mut msg = spec_authenticate("User");
        // NtChallengeResponse offset far beyond the end.
        msg[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            spec_pending().authenticate(&msg, password_is("Password")),
            Err(NtlmError::Malformed(_))
        ));
    }

    #[test]
    fn rc4_matches_rfc_6229() {
        let key: Vec<u8> = (1..=16).collect();
        let stream = rc4(&key, &[0u8; 16]);
        assert_eq!(
            stream,
            [
                0x9a, 0xc7, 0xcc, 0x9a, 0x60, 0x9d, 0x1e, 0xf7, 0xb2, 0x93, 0x28, 0x99, 0xcd, 0xe4,
                0x1b, 0x97
            ]
        );
    }
}
