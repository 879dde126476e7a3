use sse_runtime::controller;

#[controller("events")]
fn events() {}

fn main() {
    events();
}
