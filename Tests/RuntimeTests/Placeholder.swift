import XCTest
final class RuntimeTestsPlaceholder: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
