import XCTest
final class QuantTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
