//! The 18 cyber-observable object types (§6) and their predefined extensions.
//!
//! References between SCOs name the types they may point at; inside the deprecated
//! observed-data `objects` dictionary the same references are local keys, and the validator
//! resolves them there instead.

use super::Kind::*;
use super::{prop, Category, Kind, Struct, TypeSpec, SCO_TYPES};
use crate::validate::rules;
use crate::vocab;

const fn sco(
    name: &'static str,
    props: &'static [super::Prop],
    extensions: &'static [&'static Struct],
    rule: Option<super::Rule>,
) -> TypeSpec {
    TypeSpec {
        name,
        category: Category::Sco,
        props,
        extensions,
        rule,
    }
}

const ADDRESS: Kind = Ref(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]);
const UNSIGNED: Kind = Integer(0, i64::MAX);
const ANY_INT: Kind = Integer(i64::MIN, i64::MAX);

/// artifact (§6.1).
pub static ARTIFACT: TypeSpec = sco(
    "artifact",
    &[
        prop!("mime_type": String),
        prop!("payload_bin": Binary),
        prop!("url": Url),
        prop!("hashes": Hashes),
        prop!("encryption_algorithm": Enum(vocab::ENCRYPTION_ALGORITHM)),
        prop!("decryption_key": String),
    ],
    &[],
    Some(rules::artifact),
);

/// autonomous-system (§6.2).
pub static AUTONOMOUS_SYSTEM: TypeSpec = sco(
    "autonomous-system",
    &[
        prop!("number": ANY_INT, required),
        prop!("name": String),
        prop!("rir": String),
    ],
    &[],
    None,
);

/// directory (§6.3).
pub static DIRECTORY: TypeSpec = sco(
    "directory",
    &[
        prop!("path": String, required),
        prop!("path_enc": String),
        prop!("ctime": Timestamp),
        prop!("mtime": Timestamp),
        prop!("atime": Timestamp),
        prop!("contains_refs": List(&Ref(&["file", "directory"]))),
    ],
    &[],
    Some(rules::character_set),
);

/// domain-name (§6.4).
pub static DOMAIN_NAME: TypeSpec = sco(
    "domain-name",
    &[
        prop!("value": String, required),
        prop!("resolves_to_refs": List(&Ref(&["ipv4-addr", "ipv6-addr", "domain-name"]))),
    ],
    &[],
    None,
);

/// email-addr (§6.5).
pub static EMAIL_ADDR: TypeSpec = sco(
    "email-addr",
    &[
        prop!("value": String, required),
        prop!("display_name": String),
        prop!("belongs_to_ref": Ref(&["user-account"])),
    ],
    &[],
    None,
);

static MIME_PART: Struct = Struct {
    name: "mime-part-type",
    props: &[
        prop!("body": String),
        prop!("body_raw_ref": Ref(&["artifact", "file"])),
        prop!("content_type": String),
        prop!("content_disposition": String),
    ],
    rule: Some(rules::mime_part),
    at_least_one: false,
};

/// email-message (§6.6).
pub static EMAIL_MESSAGE: TypeSpec = sco(
    "email-message",
    &[
        prop!("is_multipart": Boolean, required),
        prop!("date": Timestamp),
        prop!("content_type": String),
        prop!("from_ref": Ref(&["email-addr"])),
        prop!("sender_ref": Ref(&["email-addr"])),
        prop!("to_refs": List(&Ref(&["email-addr"]))),
        prop!("cc_refs": List(&Ref(&["email-addr"]))),
        prop!("bcc_refs": List(&Ref(&["email-addr"]))),
        prop!("message_id": String),
        prop!("subject": String),
        prop!("received_lines": ListOrEmpty(&String)),
        prop!("additional_header_fields": Dictionary),
        prop!("body": String),
        prop!("body_multipart": ListOrEmpty(&Struct(&MIME_PART))),
        prop!("raw_email_ref": Ref(&["artifact"])),
    ],
    &[],
    Some(rules::email_message),
);

static ALTERNATE_DATA_STREAM: Struct = Struct {
    name: "alternate-data-stream-type",
    props: &[
        prop!("name": String, required),
        prop!("hashes": Hashes),
        prop!("size": UNSIGNED),
    ],
    rule: None,
    at_least_one: false,
};

static NTFS_EXT: Struct = Struct {
    name: "ntfs-ext",
    props: &[
        prop!("sid": String),
        prop!("alternate_data_streams": List(&Struct(&ALTERNATE_DATA_STREAM))),
    ],
    rule: None,
    at_least_one: true,
};

static RASTER_IMAGE_EXT: Struct = Struct {
    name: "raster-image-ext",
    props: &[
        prop!("image_height": ANY_INT),
        prop!("image_width": ANY_INT),
        prop!("bits_per_pixel": ANY_INT),
        prop!("exif_tags": Dictionary),
    ],
    rule: None,
    at_least_one: true,
};

static PDF_EXT: Struct = Struct {
    name: "pdf-ext",
    props: &[
        prop!("version": String),
        prop!("is_optimized": Boolean),
        prop!("document_info_dict": DictionaryOf(&String)),
        prop!("pdfid0": String),
        prop!("pdfid1": String),
    ],
    rule: None,
    at_least_one: true,
};

static ARCHIVE_EXT: Struct = Struct {
    name: "archive-ext",
    props: &[
        prop!("contains_refs": List(&Ref(&["file", "directory"])), required),
        prop!("comment": String),
    ],
    rule: None,
    at_least_one: false,
};

static PE_OPTIONAL_HEADER: Struct = Struct {
    name: "windows-pe-optional-header-type",
    props: &[
        prop!("magic_hex": Hex),
        prop!("major_linker_version": ANY_INT),
        prop!("minor_linker_version": ANY_INT),
        prop!("size_of_code": UNSIGNED),
        prop!("size_of_initialized_data": UNSIGNED),
        prop!("size_of_uninitialized_data": UNSIGNED),
        prop!("address_of_entry_point": ANY_INT),
        prop!("base_of_code": ANY_INT),
        prop!("base_of_data": ANY_INT),
        prop!("image_base": ANY_INT),
        prop!("section_alignment": ANY_INT),
        prop!("file_alignment": ANY_INT),
        prop!("major_os_version": ANY_INT),
        prop!("minor_os_version": ANY_INT),
        prop!("major_image_version": ANY_INT),
        prop!("minor_image_version": ANY_INT),
        prop!("major_subsystem_version": ANY_INT),
        prop!("minor_subsystem_version": ANY_INT),
        prop!("win32_version_value_hex": Hex),
        prop!("size_of_image": UNSIGNED),
        prop!("size_of_headers": UNSIGNED),
        prop!("checksum_hex": Hex),
        prop!("subsystem_hex": Hex),
        prop!("dll_characteristics_hex": Hex),
        prop!("size_of_stack_reserve": UNSIGNED),
        prop!("size_of_stack_commit": UNSIGNED),
        prop!("size_of_heap_reserve": UNSIGNED),
        prop!("size_of_heap_commit": UNSIGNED),
        prop!("loader_flags_hex": Hex),
        prop!("number_of_rva_and_sizes": ANY_INT),
        prop!("hashes": Hashes),
    ],
    rule: None,
    at_least_one: true,
};

static PE_SECTION: Struct = Struct {
    name: "windows-pe-section-type",
    props: &[
        prop!("name": String, required),
        prop!("size": UNSIGNED),
        prop!("entropy": Number(f64::MIN, f64::MAX)),
        prop!("hashes": Hashes),
    ],
    rule: None,
    at_least_one: false,
};

static WINDOWS_PEBINARY_EXT: Struct = Struct {
    name: "windows-pebinary-ext",
    props: &[
        prop!("pe_type": Vocab(vocab::WINDOWS_PEBINARY_TYPE), required),
        prop!("imphash": String),
        prop!("machine_hex": Hex),
        prop!("number_of_sections": UNSIGNED),
        prop!("time_date_stamp": TimestampSeconds),
        prop!("pointer_to_symbol_table_hex": Hex),
        prop!("number_of_symbols": UNSIGNED),
        prop!("size_of_optional_header": UNSIGNED),
        prop!("characteristics_hex": Hex),
        prop!("file_header_hashes": Hashes),
        prop!("optional_header": Struct(&PE_OPTIONAL_HEADER)),
        prop!("sections": List(&Struct(&PE_SECTION))),
    ],
    rule: Some(rules::pebinary),
    at_least_one: false,
};

/// file (§6.7).
pub static FILE: TypeSpec = sco(
    "file",
    &[
        prop!("hashes": Hashes),
        prop!("size": UNSIGNED),
        prop!("name": String),
        prop!("name_enc": String),
        prop!("magic_number_hex": Hex),
        prop!("mime_type": String),
        prop!("ctime": Timestamp),
        prop!("mtime": Timestamp),
        prop!("atime": Timestamp),
        prop!("parent_directory_ref": Ref(&["directory"])),
        prop!("contains_refs": List(&Ref(SCO_TYPES))),
        prop!("content_ref": Ref(&["artifact"])),
    ],
    &[
        &NTFS_EXT,
        &RASTER_IMAGE_EXT,
        &PDF_EXT,
        &ARCHIVE_EXT,
        &WINDOWS_PEBINARY_EXT,
    ],
    Some(rules::file),
);

/// ipv4-addr (§6.8).
pub static IPV4_ADDR: TypeSpec = sco(
    "ipv4-addr",
    &[
        prop!("value": String, required),
        prop!("resolves_to_refs": List(&Ref(&["mac-addr"]))),
        prop!("belongs_to_refs": List(&Ref(&["autonomous-system"]))),
    ],
    &[],
    Some(rules::ipv4_addr),
);

/// ipv6-addr (§6.9).
pub static IPV6_ADDR: TypeSpec = sco(
    "ipv6-addr",
    &[
        prop!("value": String, required),
        prop!("resolves_to_refs": List(&Ref(&["mac-addr"]))),
        prop!("belongs_to_refs": List(&Ref(&["autonomous-system"]))),
    ],
    &[],
    Some(rules::ipv6_addr),
);

/// mac-addr (§6.10).
pub static MAC_ADDR: TypeSpec = sco(
    "mac-addr",
    &[prop!("value": String, required)],
    &[],
    Some(rules::mac_addr),
);

/// mutex (§6.11).
pub static MUTEX: TypeSpec = sco("mutex", &[prop!("name": String, required)], &[], None);

static HTTP_REQUEST_EXT: Struct = Struct {
    name: "http-request-ext",
    props: &[
        prop!("request_method": String, required),
        prop!("request_value": String, required),
        prop!("request_version": String),
        prop!("request_header": DictionaryOf(&ListOrEmpty(&String))),
        prop!("message_body_length": ANY_INT),
        prop!("message_body_data_ref": Ref(&["artifact"])),
    ],
    rule: None,
    at_least_one: false,
};

static ICMP_EXT: Struct = Struct {
    name: "icmp-ext",
    props: &[
        prop!("icmp_type_hex": Hex, required),
        prop!("icmp_code_hex": Hex, required),
    ],
    rule: None,
    at_least_one: false,
};

static SOCKET_EXT: Struct = Struct {
    name: "socket-ext",
    props: &[
        prop!("address_family": Enum(vocab::SOCKET_ADDRESS_FAMILY), required),
        prop!("is_blocking": Boolean),
        prop!("is_listening": Boolean),
        prop!("options": DictionaryOf(&ANY_INT)),
        prop!("socket_type": Enum(vocab::SOCKET_TYPE)),
        prop!("socket_descriptor": UNSIGNED),
        prop!("socket_handle": ANY_INT),
    ],
    rule: None,
    at_least_one: false,
};

static TCP_EXT: Struct = Struct {
    name: "tcp-ext",
    props: &[prop!("src_flags_hex": Hex), prop!("dst_flags_hex": Hex)],
    rule: None,
    at_least_one: true,
};

/// network-traffic (§6.12).
pub static NETWORK_TRAFFIC: TypeSpec = sco(
    "network-traffic",
    &[
        prop!("start": Timestamp),
        prop!("end": Timestamp),
        prop!("is_active": Boolean),
        prop!("src_ref": ADDRESS),
        prop!("dst_ref": ADDRESS),
        prop!("src_port": Integer(0, 65535)),
        prop!("dst_port": Integer(0, 65535)),
        prop!("protocols": List(&String), required),
        prop!("src_byte_count": UNSIGNED),
        prop!("dst_byte_count": UNSIGNED),
        prop!("src_packets": UNSIGNED),
        prop!("dst_packets": UNSIGNED),
        prop!("ipfix": Dictionary),
        prop!("src_payload_ref": Ref(&["artifact"])),
        prop!("dst_payload_ref": Ref(&["artifact"])),
        prop!("encapsulates_refs": List(&Ref(&["network-traffic"]))),
        prop!("encapsulated_by_ref": Ref(&["network-traffic"])),
    ],
    &[&HTTP_REQUEST_EXT, &ICMP_EXT, &SOCKET_EXT, &TCP_EXT],
    Some(rules::network_traffic),
);

static WINDOWS_PROCESS_EXT: Struct = Struct {
    name: "windows-process-ext",
    props: &[
        prop!("aslr_enabled": Boolean),
        prop!("dep_enabled": Boolean),
        prop!("priority": String),
        prop!("owner_sid": String),
        prop!("window_title": String),
        prop!("startup_info": Dictionary),
        prop!("integrity_level": Enum(vocab::WINDOWS_INTEGRITY_LEVEL)),
    ],
    rule: None,
    at_least_one: true,
};

static WINDOWS_SERVICE_EXT: Struct = Struct {
    name: "windows-service-ext",
    props: &[
        prop!("service_name": String),
        prop!("descriptions": List(&String)),
        prop!("display_name": String),
        prop!("group_name": String),
        prop!("start_type": Enum(vocab::WINDOWS_SERVICE_START_TYPE)),
        prop!("service_dll_refs": List(&Ref(&["file"]))),
        prop!("service_type": Enum(vocab::WINDOWS_SERVICE_TYPE)),
        prop!("service_status": Enum(vocab::WINDOWS_SERVICE_STATUS)),
    ],
    rule: None,
    at_least_one: true,
};

/// process (§6.13).
pub static PROCESS: TypeSpec = sco(
    "process",
    &[
        prop!("is_hidden": Boolean),
        prop!("pid": ANY_INT),
        prop!("created_time": Timestamp),
        prop!("cwd": String),
        prop!("command_line": String),
        prop!("environment_variables": DictionaryOf(&String)),
        prop!("opened_connection_refs": List(&Ref(&["network-traffic"]))),
        prop!("creator_user_ref": Ref(&["user-account"])),
        prop!("image_ref": Ref(&["file"])),
        prop!("parent_ref": Ref(&["process"])),
        prop!("child_refs": List(&Ref(&["process"]))),
    ],
    &[&WINDOWS_PROCESS_EXT, &WINDOWS_SERVICE_EXT],
    Some(rules::process),
);

/// software (§6.14).
pub static SOFTWARE: TypeSpec = sco(
    "software",
    &[
        prop!("name": String, required),
        prop!("cpe": String),
        prop!("swid": String),
        prop!("languages": List(&Lang)),
        prop!("vendor": String),
        prop!("version": String),
    ],
    &[],
    Some(rules::software),
);

/// url (§6.15).
pub static URL: TypeSpec = sco("url", &[prop!("value": Url, required)], &[], None);

static UNIX_ACCOUNT_EXT: Struct = Struct {
    name: "unix-account-ext",
    props: &[
        prop!("gid": ANY_INT),
        prop!("groups": List(&String)),
        prop!("home_dir": String),
        prop!("shell": String),
    ],
    rule: None,
    at_least_one: true,
};

/// user-account (§6.16).
pub static USER_ACCOUNT: TypeSpec = sco(
    "user-account",
    &[
        prop!("user_id": String),
        prop!("credential": String),
        prop!("account_login": String),
        prop!("account_type": Vocab(vocab::ACCOUNT_TYPE)),
        prop!("display_name": String),
        prop!("is_service_account": Boolean),
        prop!("is_privileged": Boolean),
        prop!("can_escalate_privs": Boolean),
        prop!("is_disabled": Boolean),
        prop!("account_created": Timestamp),
        prop!("account_expires": Timestamp),
        prop!("credential_last_changed": Timestamp),
        prop!("account_first_login": Timestamp),
        prop!("account_last_login": Timestamp),
    ],
    &[&UNIX_ACCOUNT_EXT],
    Some(rules::sco_has_content),
);

static REGISTRY_VALUE: Struct = Struct {
    name: "windows-registry-value-type",
    props: &[
        prop!("name": String),
        prop!("data": String),
        prop!("data_type": Enum(vocab::WINDOWS_REGISTRY_DATATYPE)),
    ],
    rule: None,
    at_least_one: true,
};

/// windows-registry-key (§6.17).
pub static WINDOWS_REGISTRY_KEY: TypeSpec = sco(
    "windows-registry-key",
    &[
        prop!("key": String),
        prop!("values": ListOrEmpty(&Struct(&REGISTRY_VALUE))),
        prop!("modified_time": Timestamp),
        prop!("creator_user_ref": Ref(&["user-account"])),
        prop!("number_of_subkeys": UNSIGNED),
    ],
    &[],
    Some(rules::windows_registry_key),
);

static X509_V3_EXTENSIONS: Struct = Struct {
    name: "x509-v3-extensions-type",
    props: &[
        prop!("basic_constraints": String),
        prop!("name_constraints": String),
        prop!("policy_constraints": String),
        prop!("key_usage": String),
        prop!("extended_key_usage": String),
        prop!("subject_key_identifier": String),
        prop!("authority_key_identifier": String),
        prop!("subject_alternative_name": String),
        prop!("issuer_alternative_name": String),
        prop!("subject_directory_attributes": String),
        prop!("crl_distribution_points": String),
        prop!("inhibit_any_policy": String),
        prop!("private_key_usage_period_not_before": Timestamp),
        prop!("private_key_usage_period_not_after": Timestamp),
        prop!("certificate_policies": String),
        prop!("policy_mappings": String),
    ],
    rule: None,
    at_least_one: true,
};

/// x509-certificate (§6.18).
pub static X509_CERTIFICATE: TypeSpec = sco(
    "x509-certificate",
    &[
        prop!("is_self_signed": Boolean),
        prop!("hashes": Hashes),
        prop!("version": String),
        prop!("serial_number": String),
        prop!("signature_algorithm": String),
        prop!("issuer": String),
        prop!("validity_not_before": Timestamp),
        prop!("validity_not_after": Timestamp),
        prop!("subject": String),
        prop!("subject_public_key_algorithm": String),
        prop!("subject_public_key_modulus": String),
        prop!("subject_public_key_exponent": ANY_INT),
        prop!("x509_v3_extensions": Struct(&X509_V3_EXTENSIONS)),
    ],
    &[],
    Some(rules::x509_certificate),
);
