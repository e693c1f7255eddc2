fn main() {
    let text = std::env::args().nth(1).unwrap();
    for c in loan_oracle::extract::candidates::propose(&text) {
        let cur = c
            .currency
            .map(|(a, b)| loan_oracle::extract::slice::span(&text, a, b).to_owned());
        println!(
            "{:?} {:?} {:?} {:?}",
            c.kind,
            loan_oracle::extract::slice::span(&text, c.start, c.end),
            c.value,
            cur
        );
    }
}
