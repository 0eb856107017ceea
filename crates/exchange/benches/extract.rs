//! IoC extraction throughput on a real report (ESET's OceanLotus write-up, repeated to 8 MB)
//! and on Vietnamese prose with a few defanged IoCs. `cargo bench -p watchpost-exchange`;
//! the figures go to docs/benchmarks.md.

use divan::counter::BytesCount;
use divan::Bencher;
use watchpost_exchange::extract::Extractor;

fn main() {
    divan::main();
}

/// Eight megabytes: large enough that the per-call cost vanishes, small enough for CI.
const SIZE: usize = 8 << 20;

fn repeated(piece: &str) -> String {
    piece.repeat(SIZE / piece.len() + 1)
}

fn oceanlotus() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/reports/oceanlotus-README.adoc"
    );
    repeated(&std::fs::read_to_string(path).expect("the report sample is in tests/data"))
}

const VIETNAMESE: &str = "Chiến dịch tấn công nhắm vào các cơ quan nhà nước Việt Nam sử dụng máy chủ \
điều khiển tại hxxp://cdn-update[.]vn/tai-lieu và địa chỉ 103.56.53[.]120; tệp độc hại có mã băm \
2194271C7991D60AE82436129D7F25C0A689050A. Đề nghị các đơn vị rà soát nhật ký truy cập, chặn tên miền \
và báo cáo cho trung tâm ứng cứu sự cố trước ngày 15 tháng 3 năm 2024.\n";

#[divan::bench]
fn report_text(bencher: Bencher) {
    let text = oceanlotus();
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| Extractor::get().extract(divan::black_box(&text)).len());
}

#[divan::bench]
fn vietnamese_prose(bencher: Bencher) {
    let text = repeated(VIETNAMESE);
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| Extractor::get().extract(divan::black_box(&text)).len());
}

#[divan::bench]
fn streamed_report(bencher: Bencher) {
    let text = oceanlotus();
    bencher.counter(BytesCount::of_str(&text)).bench(|| {
        Extractor::get()
            .extract_reader(divan::black_box(text.as_bytes()), |_| {})
            .map(|s| s.iocs)
    });
}
