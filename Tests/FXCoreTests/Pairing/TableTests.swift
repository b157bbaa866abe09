import Testing
@testable import FXCore

@Suite struct TableTests {
    @Test("RFC 4180: quotes, doubled quotes, delimiters and newlines inside quotes, CRLF")
    func quoting() throws {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\nplain,,end\n"
        let rows = try Table(delimiter: UInt8(ascii: ",")).rows(text)
        #expect(rows.map(\.fields) == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["plain", "", "end"]])
        #expect(rows.map(\.line) == [1, 2, 4])
    }

    @Test("TSV and blank lines")
    func tsv() throws {
        let rows = try Table(delimiter: 0x09).rows("a\tb\n\nc\td")
        #expect(rows.map(\.fields) == [["a", "b"], ["c", "d"]])
    }

    @Test("a quote left open is a data error naming its line")
    func unclosed() {
        #expect {
            try Table(delimiter: UInt8(ascii: ",")).rows("a,b\n\"open,x\n")
        } throws: { error in
            (error as? FXError)?.reason.contains("line 2") == true
        }
    }

    @Test("the delimiter follows the file name")
    func byName() {
        #expect(Table.delimiter(forPath: "x/Data.CSV") == UInt8(ascii: ","))
        #expect(Table.delimiter(forPath: "d.tsv") == 0x09)
        #expect(Table.delimiter(forPath: "d.txt") == nil)
    }
}
