//! Every text the console shows, in English and Vietnamese.
//!
//! Each language is one exhaustive `match` over [`Key`]: a key added without its translation
//! does not compile, so no page can fall back to the wrong language. The unit tests check what
//! the compiler cannot: that no text is empty and that the Vietnamese differs from the English.

use super::Lang;

macro_rules! keys {
    ($($key:ident),* $(,)?) => {
        /// A text of the console.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)] // the English text is each key's documentation
        pub enum Key { $($key),* }

        impl Key {
            /// Every key, for the tests.
            pub const ALL: &'static [Key] = &[$(Key::$key),*];
        }
    };
}

keys!(
    Warnings,
    OpenWarnings,
    SignIn,
    SignOut,
    Username,
    Password,
    WrongCredentials,
    LockedOut,
    SignedInAs,
    Language,
    Severity,
    Indicator,
    Pattern,
    Evidence,
    Asset,
    Organisation,
    FirstSeen,
    LastSeen,
    Sightings,
    Status,
    Actions,
    Acknowledge,
    Assign,
    AssignedTo,
    Close,
    Comment,
    CommentNeeded,
    StatusOpen,
    StatusAcknowledged,
    StatusClosed,
    SeverityCritical,
    SeverityHigh,
    SeverityMedium,
    SeverityLow,
    NoWarnings,
    RoleReader,
    RoleAnalyst,
    RoleAdmin,
    ReadOnly,
    TimesIn,
    TimeZone,
    Apply,
    LiveUpdate,
    AcknowledgedBy,
    ErrorTitle,
    ErrorForbidden,
    ErrorNotFound,
    ErrorCsrf,
    ErrorInvalid,
    ErrorServer,
    BackToInbox,
    Dashboard,
    RiskReport,
    Span,
    DaysAreUtc,
    DownloadCsv,
    NoData,
    Unknown,
    SightingsOverTime,
    NewVsRecurring,
    BySector,
    ByOrganisation,
    ByMalware,
    ByActor,
    ByTechnique,
    TopIndicators,
    NewIndicators,
    RecurringIndicators,
    WarningsRaised,
    Last30Days,
    Last90Days,
    Last12Weeks,
    Last52Weeks,
    Date,
    ReportIntro,
    Intelligence,
    NewIndicator,
    EditIndicator,
    PatternValid,
    Column,
    Search,
    SearchHint,
    Type,
    AnyType,
    AnyTlp,
    AnyCollection,
    Collection,
    From,
    To,
    Name,
    Description,
    Confidence,
    Save,
    NoResults,
    Versions,
    Modified,
    Added,
    Relationships,
    Revoked,
    Edit,
    Directory,
    ExportJson,
    NationalCert,
    CriticalInfrastructure,
    FocalPoints,
    Constituency,
    ImportDirectory,
    Import,
    EntriesImported,
    Administration,
    AuditLog,
    Users,
    Collections,
    Access,
    Read,
    Write,
    Feeds,
    NoFeeds,
    Source,
    LastPoll,
    Never,
    When,
    Who,
    Action,
    Target,
    More,
    Tokens,
    Created,
    SharingGroup,
    EveryoneReads,
);

/// The text of `key` in `lang`.
pub fn text(lang: Lang, key: Key) -> &'static str {
    match lang {
        Lang::En => english(key),
        Lang::Vi => vietnamese(key),
    }
}

fn english(key: Key) -> &'static str {
    match key {
        Key::Warnings => "Warnings",
        Key::OpenWarnings => "Open warnings",
        Key::SignIn => "Sign in",
        Key::SignOut => "Sign out",
        Key::Username => "User name",
        Key::Password => "Password",
        Key::WrongCredentials => "Wrong user name or password.",
        Key::LockedOut => {
            "Too many failed sign-ins for this user name or from this address. \
             Try again in 15 minutes."
        }
        Key::SignedInAs => "Signed in as",
        Key::Language => "Language",
        Key::Severity => "Severity",
        Key::Indicator => "Indicator",
        Key::Pattern => "Pattern",
        Key::Evidence => "Evidence",
        Key::Asset => "Affected asset",
        Key::Organisation => "Organisation",
        Key::FirstSeen => "First seen",
        Key::LastSeen => "Last seen",
        Key::Sightings => "Sightings",
        Key::Status => "Status",
        Key::Actions => "Actions",
        Key::Acknowledge => "Acknowledge",
        Key::Assign => "Assign",
        Key::AssignedTo => "Assigned to",
        Key::Close => "Close",
        Key::Comment => "Comment",
        Key::CommentNeeded => "Closing a warning needs a comment saying what was done.",
        Key::StatusOpen => "Open",
        Key::StatusAcknowledged => "Acknowledged",
        Key::StatusClosed => "Closed",
        Key::SeverityCritical => "Critical",
        Key::SeverityHigh => "High",
        Key::SeverityMedium => "Medium",
        Key::SeverityLow => "Low",
        Key::NoWarnings => "No open warnings.",
        Key::RoleReader => "reader",
        Key::RoleAnalyst => "analyst",
        Key::RoleAdmin => "administrator",
        Key::ReadOnly => "Read only: your role does not allow handling warnings.",
        Key::TimesIn => "Times in",
        Key::TimeZone => "Time zone",
        Key::Apply => "Apply",
        Key::LiveUpdate => "Updated every 10 seconds",
        Key::AcknowledgedBy => "Acknowledged by",
        Key::ErrorTitle => "Something went wrong",
        Key::ErrorForbidden => "You may not do this.",
        Key::ErrorNotFound => "There is no such page or warning.",
        Key::ErrorCsrf => {
            "This form has expired or was not sent by this console. Reload the page and try again."
        }
        Key::ErrorInvalid => "The request could not be carried out as sent.",
        Key::ErrorServer => "The server failed; the details are in its log.",
        Key::BackToInbox => "Back to the warnings",
        Key::Dashboard => "Risk trends",
        Key::RiskReport => "Weekly risk-trend report",
        Key::Span => "Period",
        Key::DaysAreUtc => "Days are counted in UTC.",
        Key::DownloadCsv => "Download CSV",
        Key::NoData => "Nothing was seen in this period.",
        Key::Unknown => "Unknown",
        Key::SightingsOverTime => "Sightings and warnings over time",
        Key::NewVsRecurring => "New and recurring indicators",
        Key::BySector => "Sightings by sector",
        Key::ByOrganisation => "Sightings by organisation",
        Key::ByMalware => "Sightings by malware family",
        Key::ByActor => "Sightings by threat actor",
        Key::ByTechnique => "Sightings by ATT&CK technique",
        Key::TopIndicators => "Most sighted indicators",
        Key::NewIndicators => "New indicators",
        Key::RecurringIndicators => "Recurring indicators",
        Key::WarningsRaised => "Warnings raised",
        Key::Last30Days => "30 days",
        Key::Last90Days => "90 days",
        Key::Last12Weeks => "12 weeks",
        Key::Last52Weeks => "52 weeks",
        Key::Date => "Date",
        Key::ReportIntro => "What the sensors of the cooperating focal points saw this week, for sharing with partner focal points under its TLP label.",
        Key::Intelligence => "Intelligence",
        Key::NewIndicator => "New indicator",
        Key::EditIndicator => "Edit indicator",
        Key::PatternValid => "The pattern is valid.",
        Key::Column => "Column",
        Key::Search => "Search",
        Key::SearchHint => "Name, description, pattern value, alias, ATT&CK id…",
        Key::Type => "Type",
        Key::AnyType => "Any type",
        Key::AnyTlp => "Any TLP",
        Key::AnyCollection => "Any collection",
        Key::Collection => "Collection",
        Key::From => "From",
        Key::To => "To",
        Key::Name => "Name",
        Key::Description => "Description",
        Key::Confidence => "Confidence (0–100)",
        Key::Save => "Save",
        Key::NoResults => "Nothing found.",
        Key::Versions => "Versions",
        Key::Modified => "Modified",
        Key::Added => "Added to this hub",
        Key::Relationships => "Relationships",
        Key::Revoked => "revoked",
        Key::Edit => "Edit",
        Key::Directory => "Directory",
        Key::ExportJson => "Export (JSON)",
        Key::NationalCert => "national CERT",
        Key::CriticalInfrastructure => "critical infrastructure",
        Key::FocalPoints => "Focal points (in escalation order)",
        Key::Constituency => "Constituency",
        Key::ImportDirectory => "Import entries (JSON or CSV)",
        Key::Import => "Import",
        Key::EntriesImported => "entries imported",
        Key::Administration => "Administration",
        Key::AuditLog => "Audit log",
        Key::Users => "Users",
        Key::Collections => "Collections",
        Key::Access => "Access",
        Key::Read => "read",
        Key::Write => "write",
        Key::Feeds => "Feeds",
        Key::NoFeeds => "No feeds: add one with `watchpost feed add`.",
        Key::Source => "Source",
        Key::LastPoll => "Last poll",
        Key::Never => "never",
        Key::When => "When",
        Key::Who => "Who",
        Key::Action => "Action",
        Key::Target => "On",
        Key::More => "More",
        Key::Tokens => "API tokens",
        Key::Created => "Created",
        Key::SharingGroup => "sharing group",
        Key::EveryoneReads => "every member reads",
    }
}

fn vietnamese(key: Key) -> &'static str {
    match key {
        Key::Warnings => "Cảnh báo",
        Key::OpenWarnings => "Cảnh báo đang mở",
        Key::SignIn => "Đăng nhập",
        Key::SignOut => "Đăng xuất",
        Key::Username => "Tên đăng nhập",
        Key::Password => "Mật khẩu",
        Key::WrongCredentials => "Sai tên đăng nhập hoặc mật khẩu.",
        Key::LockedOut => {
            "Quá nhiều lần đăng nhập sai với tên này hoặc từ địa chỉ này. \
             Hãy thử lại sau 15 phút."
        }
        Key::SignedInAs => "Đăng nhập với tên",
        Key::Language => "Ngôn ngữ",
        Key::Severity => "Mức độ",
        Key::Indicator => "Chỉ báo",
        Key::Pattern => "Mẫu nhận dạng",
        Key::Evidence => "Bằng chứng",
        Key::Asset => "Tài sản bị ảnh hưởng",
        Key::Organisation => "Tổ chức",
        Key::FirstSeen => "Phát hiện lần đầu",
        Key::LastSeen => "Phát hiện gần nhất",
        Key::Sightings => "Số lần phát hiện",
        Key::Status => "Trạng thái",
        Key::Actions => "Xử lý",
        Key::Acknowledge => "Xác nhận",
        Key::Assign => "Giao việc",
        Key::AssignedTo => "Người phụ trách",
        Key::Close => "Đóng",
        Key::Comment => "Ghi chú",
        Key::CommentNeeded => "Cần ghi chú về việc đã làm để đóng cảnh báo.",
        Key::StatusOpen => "Đang mở",
        Key::StatusAcknowledged => "Đã xác nhận",
        Key::StatusClosed => "Đã đóng",
        Key::SeverityCritical => "Nghiêm trọng",
        Key::SeverityHigh => "Cao",
        Key::SeverityMedium => "Trung bình",
        Key::SeverityLow => "Thấp",
        Key::NoWarnings => "Không có cảnh báo nào đang mở.",
        Key::RoleReader => "người đọc",
        Key::RoleAnalyst => "phân tích viên",
        Key::RoleAdmin => "quản trị viên",
        Key::ReadOnly => "Chỉ đọc: vai trò của bạn không cho phép xử lý cảnh báo.",
        Key::TimesIn => "Giờ theo",
        Key::TimeZone => "Múi giờ",
        Key::Apply => "Áp dụng",
        Key::LiveUpdate => "Tự động cập nhật mỗi 10 giây",
        Key::AcknowledgedBy => "Xác nhận bởi",
        Key::ErrorTitle => "Đã xảy ra lỗi",
        Key::ErrorForbidden => "Bạn không có quyền thực hiện thao tác này.",
        Key::ErrorNotFound => "Không tìm thấy trang hoặc cảnh báo này.",
        Key::ErrorCsrf => "Biểu mẫu đã hết hạn hoặc không do bảng điều khiển này gửi. Hãy tải lại trang và thử lại.",
        Key::ErrorInvalid => "Không thể thực hiện yêu cầu như đã gửi.",
        Key::ErrorServer => "Máy chủ gặp lỗi; chi tiết có trong nhật ký.",
        Key::BackToInbox => "Quay lại danh sách cảnh báo",
        Key::Dashboard => "Xu hướng rủi ro",
        Key::RiskReport => "Báo cáo xu hướng rủi ro hằng tuần",
        Key::Span => "Khoảng thời gian",
        Key::DaysAreUtc => "Ngày được tính theo giờ UTC.",
        Key::DownloadCsv => "Tải về CSV",
        Key::NoData => "Không ghi nhận gì trong khoảng thời gian này.",
        Key::Unknown => "Chưa rõ",
        Key::SightingsOverTime => "Số lần phát hiện và cảnh báo theo thời gian",
        Key::NewVsRecurring => "Chỉ báo mới và chỉ báo lặp lại",
        Key::BySector => "Phát hiện theo lĩnh vực",
        Key::ByOrganisation => "Phát hiện theo tổ chức",
        Key::ByMalware => "Phát hiện theo họ mã độc",
        Key::ByActor => "Phát hiện theo nhóm tấn công",
        Key::ByTechnique => "Phát hiện theo kỹ thuật ATT&CK",
        Key::TopIndicators => "Chỉ báo được phát hiện nhiều nhất",
        Key::NewIndicators => "Chỉ báo mới",
        Key::RecurringIndicators => "Chỉ báo lặp lại",
        Key::WarningsRaised => "Cảnh báo đã phát",
        Key::Last30Days => "30 ngày",
        Key::Last90Days => "90 ngày",
        Key::Last12Weeks => "12 tuần",
        Key::Last52Weeks => "52 tuần",
        Key::Date => "Ngày",
        Key::ReportIntro => "Những gì cảm biến của các đầu mối hợp tác ghi nhận trong tuần, để chia sẻ với các đầu mối đối tác theo nhãn TLP của báo cáo.",
        Key::Intelligence => "Tình báo",
        Key::NewIndicator => "Tạo chỉ báo mới",
        Key::EditIndicator => "Sửa chỉ báo",
        Key::PatternValid => "Mẫu nhận dạng hợp lệ.",
        Key::Column => "Cột",
        Key::Search => "Tìm kiếm",
        Key::SearchHint => "Tên, mô tả, giá trị mẫu, bí danh, mã ATT&CK…",
        Key::Type => "Loại",
        Key::AnyType => "Mọi loại",
        Key::AnyTlp => "Mọi mức TLP",
        Key::AnyCollection => "Mọi bộ sưu tập",
        Key::Collection => "Bộ sưu tập",
        Key::From => "Từ ngày",
        Key::To => "Đến ngày",
        Key::Name => "Tên",
        Key::Description => "Mô tả",
        Key::Confidence => "Độ tin cậy (0–100)",
        Key::Save => "Lưu",
        Key::NoResults => "Không tìm thấy kết quả nào.",
        Key::Versions => "Các phiên bản",
        Key::Modified => "Cập nhật",
        Key::Added => "Thêm vào trạm này",
        Key::Relationships => "Quan hệ",
        Key::Revoked => "đã thu hồi",
        Key::Edit => "Sửa",
        Key::Directory => "Danh bạ đầu mối",
        Key::ExportJson => "Xuất (JSON)",
        Key::NationalCert => "CERT quốc gia",
        Key::CriticalInfrastructure => "hạ tầng trọng yếu",
        Key::FocalPoints => "Đầu mối liên lạc (theo thứ tự leo thang)",
        Key::Constituency => "Phạm vi phụ trách",
        Key::ImportDirectory => "Nhập danh bạ (JSON hoặc CSV)",
        Key::Import => "Nhập",
        Key::EntriesImported => "mục đã được nhập",
        Key::Administration => "Quản trị",
        Key::AuditLog => "Nhật ký kiểm toán",
        Key::Users => "Người dùng",
        Key::Collections => "Các bộ sưu tập",
        Key::Access => "Quyền truy cập",
        Key::Read => "đọc",
        Key::Write => "ghi",
        Key::Feeds => "Nguồn cấp dữ liệu",
        Key::NoFeeds => "Chưa có nguồn cấp: thêm bằng lệnh `watchpost feed add`.",
        Key::Source => "Nguồn",
        Key::LastPoll => "Lần lấy gần nhất",
        Key::Never => "chưa bao giờ",
        Key::When => "Thời điểm",
        Key::Who => "Người thực hiện",
        Key::Action => "Hành động",
        Key::Target => "Đối tượng",
        Key::More => "Xem thêm",
        Key::Tokens => "Mã truy cập API",
        Key::Created => "Ngày tạo",
        Key::SharingGroup => "nhóm chia sẻ",
        Key::EveryoneReads => "mọi thành viên đều đọc được",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_a_text_in_both_languages() {
        for &key in Key::ALL {
            for lang in [Lang::En, Lang::Vi] {
                assert!(
                    !text(lang, key).trim().is_empty(),
                    "{key:?} is empty in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn vietnamese_is_translated_not_copied() {
        for &key in Key::ALL {
            assert_ne!(
                text(Lang::En, key),
                text(Lang::Vi, key),
                "{key:?} is not translated"
            );
        }
    }

    #[test]
    fn texts_of_one_language_are_distinct_except_where_meant() {
        // "Sign in" is both the page and its button, so one key serves both; any other
        // repeat is a copy-paste slip.
        for lang in [Lang::En, Lang::Vi] {
            let mut seen = std::collections::HashMap::new();
            for &key in Key::ALL {
                if let Some(other) = seen.insert(text(lang, key), key) {
                    panic!("{key:?} and {other:?} have the same {lang:?} text");
                }
            }
        }
    }

    #[test]
    fn vietnamese_keeps_its_diacritics() {
        assert_eq!(text(Lang::Vi, Key::Warnings), "Cảnh báo");
        assert_eq!(text(Lang::Vi, Key::SignIn), "Đăng nhập");
        assert_eq!(text(Lang::Vi, Key::Acknowledge), "Xác nhận");
        assert_eq!(text(Lang::Vi, Key::Organisation), "Tổ chức");
    }
}
